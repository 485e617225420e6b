#!/usr/bin/python3
"""Drives OpenStack's etcd3gw client (Debian python3-etcd3gw) against one etcd JSON gateway endpoint.

Usage: etcd3gw_probe.py HOST PORT

Prints one JSON line per step, {"step": ..., "result": ...}, normalized so that two servers that behave alike
print the same lines: revisions are relative to the first write's, lease ids and lock uuids are left out, running
TTLs become ranges. A step that raises prints {"step": ..., "error": "<exception class>"} (and its message on stderr) and the probe goes on.
Started with a fresh, empty store. Every wait is bounded (WAIT_S).
"""
import base64
import json
import queue
import sys
import threading

import etcd3gw
from etcd3gw.utils import _encode

WAIT_S = 10
HOST, PORT = sys.argv[1], int(sys.argv[2])
# etcd3gw defaults to /v3alpha/, which etcd 3.4 no longer serves; /v3/ is etcd 3.4's and 3.5's prefix.
client = etcd3gw.Etcd3Client(host=HOST, port=PORT, api_path='/v3/', timeout=WAIT_S)
base = {'revision': 0}


def emit(step, result=None, error=None):
    line = {'step': step}
    if error is None:
        line['result'] = result
    else:
        line['error'] = error
    print(json.dumps(line, sort_keys=True), flush=True)


def step(name, action):
    try:
        emit(name, action())
    except Exception as e:  # the class is the outcome; the message (server-specific text) goes to stderr, for diagnosis
        emit(name, error=type(e).__name__)
        print('%s: %s: %s' % (name, type(e).__name__, str(e)[:400].replace('\n', ' ')), file=sys.stderr, flush=True)


def rev(value):
    return int(value) - base['revision'] if value is not None else None


def kv(meta):
    """A key's metadata as etcd3gw returns it (the JSON gateway's KeyValue, key decoded), revisions relative."""
    return {
        'key': meta['key'].decode() if isinstance(meta['key'], bytes) else meta['key'],
        'create_revision': rev(meta.get('create_revision')),
        'mod_revision': rev(meta.get('mod_revision')),
        'version': meta.get('version'),
        'lease': 'set' if meta.get('lease') not in (None, '0') else None,
        'fields': sorted(meta.keys()),
    }


def values(items):
    return [v.decode() for v in items]


def prefix(items):
    return [{'value': v.decode(), 'kv': kv(m)} for v, m in items]


def first_write():
    client.put('a', '1')
    value, meta = client.get('a', metadata=True)[0]
    base['revision'] = int(meta['mod_revision']) - 1
    return {'value': value.decode(), 'kv': kv(meta)}


def txn_response(result):
    return {
        'succeeded': result.get('succeeded', False),
        'responses': [sorted(r.keys()) for r in result.get('responses', [])],
        'revision': rev(result['header']['revision']),
    }


def kv_steps():
    step('put a=1 then get with metadata', first_write)
    step('get a', lambda: values(client.get('a')))
    step('get a missing key', lambda: values(client.get('missing')))
    step('put a=2', lambda: client.put('a', '2'))
    step('put p/x, p/y, p/z and q', lambda: [client.put(k, k.upper()) for k in ('p/x', 'p/y', 'p/z', 'q')])
    step('get_prefix p/', lambda: prefix(client.get_prefix('p/')))
    step('get_prefix p/ descending by key', lambda: prefix(client.get_prefix('p/', sort_order='descend', sort_target='key')))
    step('get_prefix none/', lambda: prefix(client.get_prefix('none/')))
    step('get_all', lambda: [m['key'].decode() for _, m in client.get_all()])
    step('create c=1 (absent)', lambda: client.create('c', '1'))
    step('create c=2 (present)', lambda: client.create('c', '2'))
    step('replace c 1 -> 3', lambda: client.replace('c', '1', '3'))
    step('replace c 1 -> 4 (value is 3)', lambda: client.replace('c', '1', '4'))
    step('get c', lambda: values(client.get('c')))
    step('txn: a == 2 ? put a=5, get q : get a', lambda: txn_response(client.transaction({
        'compare': [{'key': _encode('a'), 'result': 'EQUAL', 'target': 'VALUE', 'value': _encode('2')}],
        'success': [{'request_put': {'key': _encode('a'), 'value': _encode('5')}},
                    {'request_range': {'key': _encode('q')}}],
        'failure': [{'request_range': {'key': _encode('a')}}],
    })))
    step('txn: version(a) > 10 ? : get a, delete q', lambda: txn_response(client.transaction({
        'compare': [{'key': _encode('a'), 'result': 'GREATER', 'target': 'VERSION', 'version': 10}],
        'success': [],
        'failure': [{'request_range': {'key': _encode('a')}},
                    {'request_delete_range': {'key': _encode('q')}}],
    })))
    step('get a, q after the txns', lambda: [values(client.get('a')), values(client.get('q'))])
    step('delete p/x', lambda: client.delete('p/x'))
    step('delete a missing key', lambda: client.delete('missing'))
    step('delete_prefix p/', lambda: client.delete_prefix('p/'))
    step('get_prefix p/ after deletes', lambda: prefix(client.get_prefix('p/')))


def lease_steps():
    holder = {}

    def grant():
        holder['lease'] = client.lease(ttl=30)
        return holder['lease'].id > 0

    def ttl_in_range():
        t = holder['lease'].ttl()
        return 0 < t <= 30

    step('lease grant ttl 30', grant)
    step('put leased=v with the lease', lambda: client.put('leased', 'v', lease=holder['lease']))
    step('get leased with metadata', lambda: [kv(m) for _, m in client.get('leased', metadata=True)])
    step('lease ttl in (0, 30]', ttl_in_range)
    # Lease.keys() in etcd3gw 2.0.0 raises TypeError on any server (it decodes a str as bytes), so its request is made here.
    step('lease timetolive with keys', lambda: [base64.b64decode(k).decode() for k in client.post(
        client.get_url('/kv/lease/timetolive'), json={'ID': holder['lease'].id, 'keys': True}).get('keys', [])])
    step('lease refresh (keepalive) returns the granted ttl', lambda: holder['lease'].refresh())
    step('lease revoke', lambda: holder['lease'].revoke())
    step('get leased after revoke', lambda: values(client.get('leased')))
    step('lease ttl after revoke', lambda: holder['lease'].ttl())
    step('lease refresh after revoke', lambda: holder['lease'].refresh())


def event(e):
    return {
        'type': e.get('type'),
        'key': e['kv']['key'].decode(),
        'value': e['kv'].get('value', b'').decode(),
        'mod_revision': rev(e['kv'].get('mod_revision')),
        'version': e['kv'].get('version'),
        'fields': sorted(e.keys()),
        'kv_fields': sorted(e['kv'].keys()),
    }


def watch_steps():
    def watch_live():
        events, cancel = client.watch('w')  # returns once the server answered the create request
        seen = queue.Queue()

        def consume():
            for e in events:
                seen.put(e)

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        client.put('w', '1')
        client.put('w', '2')
        client.delete('w')
        try:
            got = [event(seen.get(timeout=WAIT_S)) for _ in range(3)]
        finally:
            cancel()
        return got

    def watch_prefix_live():
        events, cancel = client.watch_prefix('wp/')
        seen = queue.Queue()
        threading.Thread(target=lambda: [seen.put(e) for e in events], daemon=True).start()
        client.put('wp/1', 'x')
        client.put('other', 'y')
        client.put('wp/2', 'z')
        try:
            got = [event(seen.get(timeout=WAIT_S)) for _ in range(2)]
        finally:
            cancel()
        return got

    step('watch w in a thread; put, put, delete', watch_live)
    step('watch_prefix wp/; put wp/1, other, wp/2', watch_prefix_live)
    step('watch_once a from its first revision (history)',
         lambda: event(client.watch_once('a', timeout=WAIT_S, start_revision=base['revision'] + 1)))
    step('watch_once a key nobody writes times out', lambda: client.watch_once('silent', timeout=1))


def lock_steps():
    first = client.lock('L', ttl=30)
    second = client.lock('L', ttl=30)
    step('lock acquire (free)', first.acquire)
    step('lock is_acquired by the holder', first.is_acquired)
    step('a second lock on the same name: acquire', second.acquire)
    step('the second is_acquired', second.is_acquired)
    step('lock refresh returns the granted ttl', first.refresh)
    step('the second releases (not the holder)', second.release)
    step('the holder releases', first.release)
    step('the second acquires after release', second.acquire)
    step('the second releases', second.release)

    def with_context():
        with client.lock('M', ttl=30) as held:
            inside = held.is_acquired()
        return [inside, values(client.get(etcd3gw.utils.LOCK_PREFIX + 'M'))]

    step('lock as a context manager', with_context)


def cluster_steps():
    step('members: count and client URLs', lambda: [len(client.members()), all(m.get('clientURLs') for m in client.members())])
    step('status has a version and a leader', lambda: sorted(k for k in client.status().keys() if k in ('version', 'leader', 'header')))


kv_steps()
lease_steps()
watch_steps()
lock_steps()
cluster_steps()
emit('done', True)
