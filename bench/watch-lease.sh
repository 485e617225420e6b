#!/usr/bin/env bash
# Watch and lease figures of issue 13, raftkv next to etcd 3.4 in the same run on this machine: a 3-member etcd and a
# 3-member raftkv on free loopback ports, started the same way (fsync on, heartbeat 100 ms, election 1000 ms, data
# under one directory on the same disk), both up for the whole run. Each workload runs against one system, then the
# other (the order alternates from workload to workload), with the same client (`raftkv bench`):
#   1. memory per 10,000 idle watchers: RSS of member 1 while 10,000 watchers (one key each, 100 streams over 10
#      connections) are created in 5 batches on it; first, on freshly started members, after a 500-watcher warm-up;
#   2. events/s delivered to 1,000 watchers of one prefix on ONE stream, under puts at WATCH_RATE/s to the leader;
#   3. the same 1,000 watchers spread over 100 streams (10 watchers each, 10 connections);
#   4. keep-alives/s: 1,000 leases renewed over 10 LeaseKeepAlive streams (64 requests in flight each) on the leader;
#   5. time to expire 10,000 leases: 10,000 leases of LEASE_TTL s with one key each, refreshed once by keep-alive
#      (so their TTLs end within about a second), then the leader's key count polled every 50 ms until 0.
# Watch and keep-alive runs are preceded by an unmeasured warm-up of WARMUP on the same system (the JIT).
# Prints one markdown table (etcd, raftkv, ratio; ratio > 1 means raftkv is better) and the load average.
#
# Usage: bench/watch-lease.sh
# Environment:
#   QUICK=1            smoke run: 2 s per workload, 2,000 idle watchers, 2,000 leases (about 2 minutes)
#   DURATION=10s       put phase of the watch runs and length of the keep-alive run
#   WARMUP=3s          unmeasured warm-up before each watch and keep-alive run
#   WATCH_RATE=500     puts per second during the watch runs (x 1,000 watchers = offered events/s)
#   LEASE_TTL=20       TTL of the 10,000 leases (the set-up must finish within it)
#   BENCH_DIR=/var/tmp parent directory of the data (default: the system temp dir)
#   KEEP=1             keep data, logs and per-run JSON
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  DURATION=${DURATION:-2s}; WARMUP=${WARMUP:-1s}; IDLE_WATCHERS=${IDLE_WATCHERS:-2000}; EXPIRE_LEASES=${EXPIRE_LEASES:-2000}
  LEASE_TTL=${LEASE_TTL:-10}
else
  DURATION=${DURATION:-10s}; WARMUP=${WARMUP:-3s}; IDLE_WATCHERS=${IDLE_WATCHERS:-10000}; EXPIRE_LEASES=${EXPIRE_LEASES:-10000}
  LEASE_TTL=${LEASE_TTL:-20}
fi
WATCH_RATE=${WATCH_RATE:-500}
export ETCDCTL_API=3

command -v etcd >/dev/null && command -v etcdctl >/dev/null || { echo "etcd and etcdctl are needed (apt-get install etcd-server etcd-client)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed (free ports, JSON)" >&2; exit 2; }
echo "building raftkv (Release) ..." >&2

parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
root=$(mktemp -d "$parent/raftkv-watch-lease.XXXXXX")
[ "$(stat -f -c %T "$root" 2>/dev/null)" = tmpfs ] && echo "warning: $root is on tmpfs: fsync is free there (set BENCH_DIR)" >&2
mkdir -p "$root/results"
pids=()
cleanup() {
  trap - EXIT INT TERM
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.2
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  exec 9>&- 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $root" >&2; else rm -rf "$root"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Lifeline: raftkv members exit when this FIFO closes (fd 9 of this script), even after a SIGKILL of the script.
mkfifo "$root/lifeline"
exec 9<>"$root/lifeline"
bench/publish-raftkv.sh "$root/raftkv-bin"
raftkv=(dotnet "$root/raftkv-bin/raftkv.dll")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_cluster KIND -> ${KIND}_eps (client endpoints), ${KIND}_ep1 (member 1's), ${KIND}_pid1 (member 1's pid)
start_cluster() {
  local kind=$1 cluster="" names=(m1 m2 m3) cports=() pports=() i
  for _ in "${names[@]}"; do cports+=("$(free_port)"); pports+=("$(free_port)"); done
  for i in 0 1 2; do cluster+="${names[$i]}=http://127.0.0.1:${pports[$i]},"; done
  cluster=${cluster%,}
  for i in 0 1 2; do
    local args=(--name "${names[$i]}" --data-dir "$root/$kind/${names[$i]}"
      --listen-client-urls "http://127.0.0.1:${cports[$i]}" --advertise-client-urls "http://127.0.0.1:${cports[$i]}"
      --listen-peer-urls "http://127.0.0.1:${pports[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}"
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "watch-lease-$kind"
      --heartbeat-interval 100 --election-timeout 1000 --log-level warn)
    if [ "$kind" = etcd ]; then
      etcd "${args[@]}" >"$root/$kind-${names[$i]}.log" 2>&1 9>&- &
    else
      "${raftkv[@]}" serve "${args[@]}" --listen-http-urls "http://127.0.0.1:$(free_port)" --exit-on-stdin-eof \
        <"$root/lifeline" >"$root/$kind-${names[$i]}.log" 2>&1 9>&- &
    fi
    pids+=($!)
    [ "$i" = 0 ] && printf -v "${kind}_pid1" '%s' "$!"
  done
  printf -v "${kind}_eps" '%s' "127.0.0.1:${cports[0]},127.0.0.1:${cports[1]},127.0.0.1:${cports[2]}"
  printf -v "${kind}_ep1" '%s' "127.0.0.1:${cports[0]}"
}

wait_healthy() { # kind endpoints
  for _ in $(seq 1 150); do
    etcdctl --endpoints="$2" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "$1 cluster at $2 did not become healthy; logs: $root/$1-*.log" >&2
  tail -n 20 "$root/$1"-*.log >&2 || true
  return 1
}

# bench NAME KIND ARGS... : one run, JSON to results/NAME.KIND.json, stderr to results/NAME.KIND.err (bounded)
bench() {
  local name=$1 kind=$2; shift 2
  echo "  $name on $kind: raftkv bench $*" >&2
  timeout 600 "${raftkv[@]}" bench "$@" -o json --no-progress >"$root/results/$name.$kind.json" 2>"$root/results/$name.$kind.err" 9>&- || true
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "starting a 3-member etcd and a 3-member raftkv under $root (load average $load_start) ..." >&2
start_cluster etcd
start_cluster raftkv
wait_healthy etcd "$etcd_eps"
wait_healthy raftkv "$raftkv_eps"

# 1. idle watchers first, on fresh members (memory a previous workload freed would hide the watchers' cost).
for kind in etcd raftkv; do
  ep1_var="${kind}_ep1"; pid_var="${kind}_pid1"
  bench idle-warmup "$kind" -w watch-idle --target all --endpoints "${!ep1_var}" --rss-pid "${!pid_var}" --watchers 500 --streams 10 --conns 10 --duration 1s
  bench idle "$kind" -w watch-idle --target all --endpoints "${!ep1_var}" --rss-pid "${!pid_var}" --watchers "$IDLE_WATCHERS" --streams 100 --conns 10 --duration 5s
done

# 2-5. name | warm-up (1/0) | bench arguments
workloads=(
  "watch1|1|-w watch --watchers 1000 --streams 1 --conns 1 --rate $WATCH_RATE --clients 20 --key-space 100"
  "watch100|1|-w watch --watchers 1000 --streams 100 --conns 10 --rate $WATCH_RATE --clients 20 --key-space 100"
  "keepalive|1|-w lease-keepalive --leases 1000 --streams 10 --conns 10 --clients 10 --in-flight 64 --lease-ttl 60"
  "expire|0|-w lease-expire --leases $EXPIRE_LEASES --lease-ttl $LEASE_TTL --clients 100 --conns 10"
)
i=0
for w in "${workloads[@]}"; do
  IFS='|' read -r name warm args <<<"$w"
  order=(etcd raftkv); [ $((i % 2)) -eq 1 ] && order=(raftkv etcd)
  for kind in "${order[@]}"; do
    eps_var="${kind}_eps"
    # shellcheck disable=SC2086 # args is a list of flags
    [ "$warm" = 1 ] && bench "$name-warmup" "$kind" $args --endpoints "${!eps_var}" --duration "$WARMUP"
    # shellcheck disable=SC2086
    bench "$name" "$kind" $args --endpoints "${!eps_var}" --duration "$DURATION"
  done
  i=$((i + 1))
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

RESULTS="$root/results" LOAD_START="$load_start" LOAD_END="$load_end" DURATION="$DURATION" WATCH_RATE="$WATCH_RATE" \
IDLE_WATCHERS="$IDLE_WATCHERS" EXPIRE_LEASES="$EXPIRE_LEASES" NPROC="$(nproc)" python3 - <<'PY'
import json, os

results = os.environ["RESULTS"]

def load(name, kind):
    try:
        with open(f"{results}/{name}.{kind}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def why(name, kind):
    try:
        lines = [l.strip() for l in open(f"{results}/{name}.{kind}.err") if l.strip()]
        return lines[-1] if lines else "no output"
    except OSError:
        return "not run"

def num(v, spec=",.0f"):
    return format(v, spec) if isinstance(v, (int, float)) else "n/a"

def ratio(a, b):
    return f"{a / b:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0 and b > 0 else "n/a"

rows, notes = [], []

def row(label, name, key, spec, better, detail):
    e, r = load(name, "etcd"), load(name, "raftkv")
    ev, rv = (e or {}).get(key), (r or {}).get(key)
    q = ratio(rv, ev) if better == "higher" else ratio(ev, rv)
    rows.append(f"| {label} | {num(ev, spec) if e else 'failed'} | {num(rv, spec) if r else 'failed'} | {q} | "
                f"{detail(e) if e else why(name, 'etcd')} | {detail(r) if r else why(name, 'raftkv')} |")

def watch_detail(d):
    lat = d["deliveryLatencyMs"]
    puts = d["putsOk"] / d["putS"] if d.get("putS") else 0
    return (f"puts {puts:,.0f}/s of {d['putRate']:,.0f}; {d['eventsReceived']:,} of {d['eventsExpected']:,} events"
            f"{'' if d['complete'] else ' (INCOMPLETE)'}; delivery p50 {lat['p50']:.0f} / p99 {lat['p99']:.0f} ms; "
            f"{d['responses']:,} responses; {d['watchersCanceled']} canceled")

row(f"events/s delivered, 1,000 watchers on 1 stream (puts at {os.environ['WATCH_RATE']}/s)", "watch1", "eventsPerS", ",.0f", "higher", watch_detail)
row(f"events/s delivered, 1,000 watchers over 100 streams (10 each)", "watch100", "eventsPerS", ",.0f", "higher", watch_detail)
row(f"RSS MiB per 10,000 idle watchers (fitted over 5 batches of {int(os.environ['IDLE_WATCHERS']) // 5:,})", "idle", "rssSlopeMiBPer10kWatchers", ".1f", "lower",
    lambda d: (f"RSS {d['rssBeforeMiB']:.0f} -> {d['rssAfterMiB']:.0f} MiB for {d['watchersCreated']:,} watchers "
               f"({d['rssMiBPer10kWatchers']:.1f} MiB/10k by difference, anon {d['rssAnonDeltaMiB']:.1f}); created at {d['createsPerS']:,.0f}/s"))
def expire_detail(d):
    text = (f"TTL {d['grantedTtlS']} s; {num(d.get('expiredPerS'))} expiries/s; first key gone {num(d.get('firstGoneAfterTtlS'), '.2f')} s "
            f"after the first TTL end, all {num(d.get('allGoneAfterTtlS'), '.2f')} s after the last (TTL ends spread over {d['refreshS']:.2f} s); "
            f"set-up {d['setupS']:.1f} s")
    if d["setupOverlapsExpiry"]: text += " (OVERLAPS EXPIRY: raise LEASE_TTL)"
    if not d["complete"]: text += f"; {d['keysLeft']:,} keys LEFT"
    return text

row(f"s to expire {int(os.environ['EXPIRE_LEASES']):,} leases: first TTL end -> all keys gone", "expire", "allGoneAfterFirstTtlEndS", ".2f", "lower", expire_detail)
row("keep-alives/s, 1,000 leases, 10 streams x 64 in flight", "keepalive", "keepAlivesPerS", ",.0f", "higher",
    lambda d: (f"p50 {d['keepAliveLatencyMs']['p50']:.1f} / p99 {d['keepAliveLatencyMs']['p99']:.1f} ms; {d['notFound']} not found, {d['outOfOrder']} out of order"
               f"{'; ' + d['streamErrors'] if d.get('streamErrors') else ''}"))

print(f"watch and lease workloads, 3-member etcd 3.4 and 3-member raftkv on loopback, same client (raftkv bench), "
      f"{os.environ['NPROC']} cores, load average {os.environ['LOAD_START']} at the start and {os.environ['LOAD_END']} at the end "
      f"(other work on the machine: compare the ratios, not the absolutes). Watch runs: puts for {os.environ['DURATION']} to the leader, "
      f"watchers on the leader. ratio > 1 means raftkv is better (higher: raftkv / etcd; lower: etcd / raftkv).")
print()
print("| figure | etcd | raftkv | ratio | etcd detail | raftkv detail |")
print("| --- | ---: | ---: | ---: | --- | --- |")
for r in rows: print(r)
PY
