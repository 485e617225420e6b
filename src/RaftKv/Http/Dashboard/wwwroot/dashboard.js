// RaftKv dashboard: renders cluster snapshots streamed by /v1/events (server-sent events) of any member.
// When the member serving the stream stops answering, it switches to another member's stream by itself.
'use strict';

const STALE_MS = 3000;        // no snapshot for this long: the source is gone or paused
const TIMELINE_ROWS = 40;

const state = {
  source: location.origin,     // the member whose /v1/events we read
  events: null,
  lastSnapshotAt: 0,
  snapshot: null,
  origins: [location.origin],  // every member's HTTP origin seen so far
  failed: new Map(),           // origin -> time of its last failure
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// ---- connection -------------------------------------------------------------------------------------------

function connect(origin) {
  if (state.events) state.events.close();
  state.source = origin;
  state.lastSnapshotAt = Date.now();
  setConnection('connecting', `connecting to ${host(origin)}…`);
  const events = new EventSource(origin + '/v1/events');
  events.addEventListener('snapshot', (e) => {
    state.lastSnapshotAt = Date.now();
    state.failed.delete(origin);
    try {
      render(JSON.parse(e.data));
    } catch (err) {
      console.error('bad snapshot', err);
    }
  });
  events.onerror = () => setConnection('lost', `lost ${host(origin)}, retrying…`);
  state.events = events;
}

function watchdog() {
  if (Date.now() - state.lastSnapshotAt < STALE_MS) return;
  state.failed.set(state.source, Date.now());
  // Prefer members that answered in the last snapshot, then any other known member; never the one that just failed.
  const live = (state.snapshot?.members || []).filter((m) => m.reachable).flatMap((m) => m.view?.httpUrls || []);
  const candidates = [...live, ...state.origins].filter((o, i, all) => all.indexOf(o) === i && o !== state.source);
  candidates.sort((a, b) => (state.failed.get(a) || 0) - (state.failed.get(b) || 0));
  connect(candidates[0] || state.source);
}

function setConnection(kind, text) {
  const c = $('connection');
  c.dataset.state = kind;
  c.textContent = text;
}

const host = (origin) => origin.replace(/^https?:\/\//, '');

// ---- fault injection --------------------------------------------------------------------------------------

async function fault(member, action, ms) {
  const query = new URLSearchParams({ member });
  if (ms) query.set('ms', String(ms));
  showToast(`${action} ${member}…`, false);
  try {
    const response = await fetch(`${state.source}/v1/fault/${action}?${query}`, { method: 'POST' });
    const body = await response.json().catch(() => ({}));
    if (response.ok) showToast(body.result || `${action} ${member}: done`, false);
    else showToast(body.error || `${action} ${member}: HTTP ${response.status}`, true);
  } catch (err) {
    showToast(`${action} ${member}: ${err.message}`, true);
  }
}

let toastTimer = 0;
function showToast(text, isError) {
  const t = $('toast');
  t.textContent = text;
  t.classList.toggle('error', isError);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 8000);
}

// ---- rendering --------------------------------------------------------------------------------------------

function render(s) {
  state.snapshot = s;
  for (const m of s.members) for (const url of m.view?.httpUrls || []) if (!state.origins.includes(url)) state.origins.push(url);
  setConnection('live', `live from ${s.servedBy} (${host(state.source)})`);
  $('leader').textContent = s.leader || 'none';
  $('term').textContent = s.term;
  $('rate').textContent = s.writesPerSecond.toFixed(1);
  $('latency').textContent = s.writeLatency ? `p50 ${ms(s.writeLatency.p50Ms)} · p99 ${ms(s.writeLatency.p99Ms)}` : '-';
  $('fault-hint').hidden = !s.faultInjection;
  renderMembers(s);
  renderReplication(s);
  renderLog(s);
  renderServices(s);
  renderLeases(s);
  renderTimeline(s);
  drawSpark(s.writesHistory || []);
  $('footer').textContent = `snapshot of ${new Date(s.time).toLocaleTimeString()} served by ${s.servedBy}; ` +
    `members known: ${state.origins.map(host).join(', ')}`;
}

const ms = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(0)) + ' ms';

function renderMembers(s) {
  const box = $('members');
  box.replaceChildren(...s.members.map((m) => memberCard(m, s)));
}

// The leader's entry for a member in its configuration (with a learner's catch-up), or the member's own.
function configOf(s, m) {
  const fromLeader = leaderView(s)?.status?.members?.find((x) => x.id === m.id);
  return fromLeader || m.view?.status?.members?.find((x) => x.id === m.id) || null;
}

function catchUpText(c) {
  if (!c) return '-';
  const pct = c.leaderLastIndex ? Math.floor((100 * c.match) / c.leaderLastIndex) : 100;
  return `${c.match} / ${c.leaderLastIndex} (${pct}%${c.readyToPromote ? ', ready to promote' : ''})`;
}

function memberCard(m, s) {
  const v = m.view;
  const st = v?.status;
  const role = m.reachable ? (st?.role || 'starting') : 'down';
  const config = m.config || 'voter';
  const conf = configOf(s, m);
  const configFields = [['config', config]];
  if (config === 'learner') configFields.push(['catch-up', catchUpText(conf?.catchUp)]);
  const fields = st ? [...configFields,
    ['term', st.term], ['vote', nameOf(s, st.vote) || '-'], ['leader', st.leaderName || 'none'],
    ['commit', st.commit], ['applied', st.applied], ['last index', st.lastIndex], ['revision', v.revision],
    ['writes/s', v.writesPerSecond.toFixed(1)],
    ['watchers', v.watch ? `${v.watch.watchers} on ${v.watch.streams} stream${v.watch.streams === 1 ? '' : 's'}` : '-'],
    ['leases', v.leases ? v.leases.count : '-'],
    ['peer rtt', Object.entries(v.peerRttMs || {}).map(([p, t]) => `${p} ${ms(t)}`).join(', ') || '-'],
  ] : configFields;
  const dl = el('dl', null, ...fields.flatMap(([k, val]) => [el('dt', null, k), el('dd', { 'data-field': k }, val)]));
  const card = el('div', {
    class: 'member', 'data-member': m.name, 'data-role': role, 'data-reachable': String(m.reachable), 'data-config': config,
    'data-term': st ? st.term : '',
  },
  el('div', { class: 'title' }, el('span', { class: 'name' }, m.name), el('span', { class: 'role' }, role),
    config === 'learner' ? el('span', { class: 'badge learner' }, 'learner') : null,
    v?.partitioned ? el('span', { class: 'badge' }, 'partitioned') : null),
  m.reachable ? null : el('div', { class: 'error' }, `${m.error || 'no answer'}` +
    (m.lastSeen ? ` · last seen ${Math.round((s.time - m.lastSeen) / 1000)} s ago` : ' · never seen')),
  dl,
  el('div', { class: 'urls' }, v ? `http ${v.httpUrls.join(' ')} · client ${v.clientUrls.join(' ')} · pid ${v.pid}` : `peer ${m.peerUrl}`));
  if (s.faultInjection) {
    const b = (action, label, msArg) => el('button', {
      type: 'button', 'data-action': action, 'data-member': m.name, onclick: () => fault(m.name, action, msArg),
    }, label);
    // A member that does not answer can only be resumed (if paused) or started again (if stopped).
    const buttons = m.reachable
      ? [b('stop', 'stop'), b('pause', 'pause 5 s', 5000), b('restart', 'restart'), v?.partitioned ? b('heal', 'heal') : b('partition', 'partition')]
      : [b('resume', 'resume'), b('restart', 'restart')];
    card.append(el('div', { class: 'buttons' }, ...buttons));
  }
  return card;
}

function nameOf(s, idHex) {
  if (!idHex) return '';
  const m = s.members.find((x) => x.id === idHex);
  return m ? m.name : idHex;
}

function leaderView(s) {
  return s.members.find((m) => m.reachable && m.view?.status?.role === 'leader')?.view;
}

function renderReplication(s) {
  const lv = leaderView(s);
  $('replication-by').textContent = lv ? `(as leader ${lv.name} sees it)` : '(no leader reachable)';
  const rows = (lv?.status?.followers || []).map((f) => el('tr', { 'data-follower': f.name, 'data-learner': String(!!f.isLearner) },
    el('td', null, f.isLearner ? `${f.name} (learner)` : f.name), el('td', null, f.match), el('td', null, f.next), el('td', null, f.state),
    el('td', null, f.inflight), el('td', null, f.lag), el('td', null, f.active ? 'yes' : 'no')));
  setRows('replication', rows, 7, 'no leader');
}

function renderLog(s) {
  const rows = [...s.logTail].reverse().map((e) => el('tr', null,
    el('td', null, e.index), el('td', null, e.term), el('td', null, e.type), el('td', { class: 'payload' }, e.payload)));
  $('log-by').textContent = '(newest first)';
  setRows('log', rows, 4, 'nothing applied yet');
}

function renderServices(s) {
  const rows = s.members.filter((m) => m.view).map((m) => {
    const v = m.view;
    const w = v.watch;
    const c = v.concurrency;
    const cell = (field, value) => el('td', { 'data-field': field }, value ?? '-');
    return el('tr', { 'data-member': m.name, class: m.reachable ? null : 'stale' },
      el('td', null, m.name + (m.reachable ? '' : ' (last seen)')),
      cell('streams', w?.streams), cell('watchers', w?.watchers), cell('events-sent', w?.eventsSent), cell('history-reads', w?.historyReads),
      cell('leases', v.leases?.count), cell('keep-alive-streams', c?.keepAliveStreams),
      cell('waiters', c ? `${c.waiters} / ${c.waitersMax}` : null), cell('observers', c ? `${c.observers} / ${c.observersMax}` : null));
  });
  setRows('services', rows, 9, 'no member seen yet');
}

// The lease table is replicated; only the leader keeps deadlines, so its view is the one with remaining TTLs.
function renderLeases(s) {
  const reachable = s.members.filter((m) => m.reachable && m.view?.leases);
  const source = reachable.find((m) => m.view.leases.onLeader) || reachable[0];
  const leases = source?.view.leases;
  $('leases-by').textContent = !leases ? '(no member reachable)'
    : `(${leases.count} in total${leases.count > leases.shown.length ? `, the first ${leases.shown.length} by id` : ''}; ` +
      (leases.onLeader ? `remaining TTLs from leader ${source.name})` : `as ${source.name} sees them: no leader, no remaining TTLs)`);
  const rows = (leases?.shown || []).map((l) => el('tr', { 'data-lease': l.id },
    el('td', null, l.id), el('td', { 'data-field': 'granted' }, `${l.grantedTtl} s`),
    el('td', { 'data-field': 'remaining' }, l.remainingTtl === null || l.remainingTtl === undefined ? '-' : `${l.remainingTtl} s`),
    el('td', { 'data-field': 'keys' }, l.keysMore ? `${l.keys}+` : l.keys)));
  setRows('leases', rows, 4, 'no leases');
}

const WHY = {
  becameprecandidate: 'heard no leader within the election timeout',
  becamecandidate: 'won the pre-vote: starts an election',
};

const KIND = { configurationchange: 'config change', leadershiptransfer: 'transfer', snapshotrestored: 'snapshot' };

function renderTimeline(s) {
  const rows = [...s.timeline].reverse().slice(0, TIMELINE_ROWS).map((e) => el('tr', { class: e.kind },
    el('td', null, time(e.time)), el('td', null, e.member), el('td', null, e.term), el('td', null, KIND[e.kind] || e.kind.replace(/^became/, '→ ')),
    el('td', null, WHY[e.kind] ? `${e.text}: ${WHY[e.kind]}` : e.text)));
  setRows('timeline', rows, 5, 'no events yet');
}

function setRows(tableId, rows, columns, emptyText) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...(rows.length ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: String(columns) }, emptyText))]));
}

function time(unixMs) {
  const d = new Date(unixMs);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

function drawSpark(values) {
  const canvas = $('spark');
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...values);
  const bar = w / Math.max(1, values.length);
  ctx.fillStyle = '#2f6fd6';
  values.forEach((v, i) => {
    const bh = (v / max) * (h - 14);
    ctx.fillRect(i * bar + 1, h - bh, Math.max(1, bar - 2), bh);
  });
  ctx.fillStyle = '#6b7385';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(`max ${max}/s`, 4, 11);
}

connect(location.origin);
setInterval(watchdog, 1000);
