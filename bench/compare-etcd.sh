#!/usr/bin/env bash
# Compares raftkv with etcd on this machine: a 3-member etcd and a 3-member raftkv on loopback, started the same way
# (fsync on, heartbeat 100 ms, election 1000 ms, data under one directory on the same disk), both running for the
# whole comparison. Each workload runs against one, then the other (the order alternates from workload to workload,
# so slow drift of the machine does not favour either), with the same `raftkv bench` client. Also measures the
# machine's limits (raw fdatasync, no-op gRPC round trips) and runs `etcdctl check perf --load=l` against both.
# Prints one markdown table.
#
# Usage: bench/compare-etcd.sh
# Environment:
#   QUICK=1              smoke run: 2 s per workload, smaller key space, no check perf (about a minute)
#   WARMUP=5s            unmeasured run of each workload on each system before its measured run (QUICK: 1s)
#   DURATION=15s         time per workload and system (default 15s; QUICK: 2s)
#   LIMIT_DURATION=5s    time per machine-limit measurement (default 5s; QUICK: 2s)
#   CHECK_PERF=1|0       run etcdctl check perf --load=l against both (60 s each; default 1, QUICK: 0)
#   BENCH_DIR=/var/tmp   parent directory of the data (default: the system temp dir); must be a real disk, not tmpfs
#   KEEP=1               keep the data directory and logs (default: removed on exit)
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  DURATION=${DURATION:-2s}; LIMIT_DURATION=${LIMIT_DURATION:-2s}; CHECK_PERF=${CHECK_PERF:-0}; KEY_SPACE=${KEY_SPACE:-1000}
  WARMUP=${WARMUP:-1s}
else
  DURATION=${DURATION:-15s}; LIMIT_DURATION=${LIMIT_DURATION:-5s}; CHECK_PERF=${CHECK_PERF:-1}; KEY_SPACE=${KEY_SPACE:-10000}
  WARMUP=${WARMUP:-5s}
fi

# --- tools -------------------------------------------------------------------------------------------------------
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  echo "installing etcd-server and etcd-client (Debian packages) ..." >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y etcd-server etcd-client >&2
fi
command -v python3 >/dev/null || { echo "python3 is needed (free ports, JSON)" >&2; exit 2; }

# --- one directory for everything; all processes and data removed on exit ------------------------------------------
parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
root=$(mktemp -d "$parent/raftkv-compare.XXXXXX")
if [ "$(stat -f -c %T "$root" 2>/dev/null)" = tmpfs ]; then
  echo "warning: $root is on tmpfs: fdatasync is free there, so the figures say nothing about durable writes (set BENCH_DIR)" >&2
fi
pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  exec 9>&- 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $root" >&2; else rm -rf "$root"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Lifeline: raftkv members read stdin from this FIFO and exit on EOF, which comes when this script's fd 9 closes,
# even if the script is killed with SIGKILL and the trap never runs. Children get `9>&-` so they do not hold it open.
mkfifo "$root/lifeline"
exec 9<>"$root/lifeline"
bench/publish-raftkv.sh "$root/raftkv-bin"
raftkv=(dotnet "$root/raftkv-bin/raftkv.dll")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_cluster KIND -> sets ${KIND}_eps (client endpoints) and ${KIND}_peer (first member's peer host:port)
start_cluster() {
  local kind=$1 cluster="" names=(m1 m2 m3) cports=() pports=() hports=() i
  for _ in "${names[@]}"; do cports+=("$(free_port)"); pports+=("$(free_port)"); hports+=("$(free_port)"); done
  for i in 0 1 2; do cluster+="${names[$i]}=http://127.0.0.1:${pports[$i]},"; done
  cluster=${cluster%,}
  for i in 0 1 2; do
    local args=(--name "${names[$i]}" --data-dir "$root/$kind/${names[$i]}"
      --listen-client-urls "http://127.0.0.1:${cports[$i]}" --advertise-client-urls "http://127.0.0.1:${cports[$i]}"
      --listen-peer-urls "http://127.0.0.1:${pports[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}"
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "compare-$kind"
      --heartbeat-interval 100 --election-timeout 1000 --log-level warn)
    if [ "$kind" = etcd ]; then
      etcd "${args[@]}" >"$root/$kind-${names[$i]}.log" 2>&1 9>&- &
    else
      "${raftkv[@]}" serve "${args[@]}" --listen-http-urls "http://127.0.0.1:${hports[$i]}" --exit-on-stdin-eof \
        <"$root/lifeline" >"$root/$kind-${names[$i]}.log" 2>&1 9>&- &
    fi
    pids+=($!)
  done
  printf -v "${kind}_eps" '%s' "127.0.0.1:${cports[0]},127.0.0.1:${cports[1]},127.0.0.1:${cports[2]}"
  printf -v "${kind}_peer" '%s' "127.0.0.1:${pports[0]}"
  # Prometheus endpoints: etcd serves /metrics on its client port, raftkv on its HTTP port.
  local mports=("${cports[@]}"); [ "$kind" = raftkv ] && mports=("${hports[@]}")
  printf -v "${kind}_metrics" '%s' "http://127.0.0.1:${mports[0]}/metrics http://127.0.0.1:${mports[1]}/metrics http://127.0.0.1:${mports[2]}/metrics"
}

# scrape NAME KIND PHASE : every member's /metrics to results/NAME.KIND.PHASE.mN.prom (for the cost table)
scrape() {
  local name=$1 kind=$2 phase=$3 n=1 url var="${2}_metrics"
  for url in ${!var}; do
    curl -s --max-time 5 "$url" >"$root/results/$name.$kind.$phase.m$n.prom" 9>&- || true
    n=$((n + 1))
  done
}

wait_healthy() { # kind endpoints
  for _ in $(seq 1 150); do
    ETCDCTL_API=3 etcdctl --endpoints="$2" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "$1 cluster at $2 did not become healthy; logs: $root/$1-*.log" >&2
  tail -n 20 "$root/$1"-*.log >&2 || true
  return 1
}

mkdir -p "$root/results"
echo "starting a 3-member etcd and a 3-member raftkv under $root ..." >&2
start_cluster etcd
start_cluster raftkv
wait_healthy etcd "$etcd_eps"
wait_healthy raftkv "$raftkv_eps"

# bench NAME KIND ARGS... : one run, JSON to results/NAME.KIND.json (a failed run leaves its stderr for the table)
bench() {
  local name=$1 kind=$2; shift 2
  echo "  $name on $kind: raftkv bench $*" >&2
  "${raftkv[@]}" bench "$@" -o json --no-progress >"$root/results/$name.$kind.json" 2>"$root/results/$name.$kind.err" 9>&- || true
}

# --- machine limits ----------------------------------------------------------------------------------------------
echo "measuring the machine's limits ..." >&2
bench fsync local -w fsync --duration "$LIMIT_DURATION" --fsync-dir "$root"
bench ping1 raftkv -w peer-ping --endpoints "$raftkv_peer" --clients 1 --conns 1 --duration "$LIMIT_DURATION"
bench ping100 raftkv -w peer-ping --endpoints "$raftkv_peer" --clients 100 --conns 10 --duration "$LIMIT_DURATION"
for kind in etcd raftkv; do
  eps_var="${kind}_eps"
  bench status1 "$kind" -w status --endpoints "${!eps_var}" --clients 1 --conns 1 --duration "$LIMIT_DURATION"
  bench status100 "$kind" -w status --endpoints "${!eps_var}" --clients 100 --conns 10 --duration "$LIMIT_DURATION"
done

# --- workloads (name | label | bench arguments) ------------------------------------------------------------------
workloads=(
  "put1|put, 1 client, sequential keys, 256 B (latency)|-w put --clients 1 --conns 1 --sequential-keys --val-size 256"
  "put100|put, 100 clients / 10 conns, 256 B|-w put --clients 100 --conns 10 --val-size 256"
  "put1000|put, 1000 clients / 100 conns, 256 B (etcd's published workload)|-w put --clients 1000 --conns 100 --val-size 256"
  "putrate|put at a fixed 1,500/s (open loop: same offered load for both), 256 B|-w put --rate 1500 --clients 300 --conns 10 --val-size 256"
  "rangel|range linearizable, 100 clients / 10 conns|-w range --consistency l --clients 100 --conns 10 --prefill"
  "ranges|range serializable, 100 clients / 10 conns|-w range --consistency s --clients 100 --conns 10"
  "txn|txn CAS on 10 counters, 100 clients / 10 conns|-w txn --cas-keys 10 --clients 100 --conns 10"
)
echo "running ${#workloads[@]} workloads, $DURATION each per system, alternating ..." >&2
i=0
for w in "${workloads[@]}"; do
  IFS='|' read -r name _ args <<<"$w"
  order=(etcd raftkv); [ $((i % 2)) -eq 1 ] && order=(raftkv etcd)
  for kind in "${order[@]}"; do
    eps_var="${kind}_eps"
    # shellcheck disable=SC2086 # args is a list of flags
    # Warm-up, not measured, the same for both: a freshly started .NET process still compiles its hot paths.
    # shellcheck disable=SC2086
    bench "$name-warmup" "$kind" $args --key-space "$KEY_SPACE" --endpoints "${!eps_var}" --duration "$WARMUP"
    scrape "$name" "$kind" before
    bench "$name" "$kind" $args --key-space "$KEY_SPACE" --endpoints "${!eps_var}" --duration "$DURATION"
    scrape "$name" "$kind" after
  done
  i=$((i + 1))
done

# --- etcdctl check perf ------------------------------------------------------------------------------------------
if [ "$CHECK_PERF" = 1 ]; then
  for kind in etcd raftkv; do
    eps_var="${kind}_eps"
    echo "  etcdctl check perf --load=l on $kind (60 s) ..." >&2
    ETCDCTL_API=3 etcdctl --endpoints="${!eps_var}" check perf --load=l 2>&1 9>&- | tr '\r' '\n' \
      | grep -E "PASS|FAIL|Slowest|Stddev|Throughput" >"$root/results/checkperf.$kind.txt" || true
  done
fi

# --- the table ---------------------------------------------------------------------------------------------------
labels=$(printf '%s\n' "${workloads[@]}")
LABELS="$labels" RESULTS="$root/results" DURATION="$DURATION" CHECK_PERF="$CHECK_PERF" python3 - <<'PY'
import json, os, re

results = os.environ["RESULTS"]

def load(name, kind):
    try:
        with open(f"{results}/{name}.{kind}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def why(name, kind):
    try:
        with open(f"{results}/{name}.{kind}.err") as f:
            lines = [l.strip() for l in f if l.strip()]
        return lines[-1] if lines else "no output"
    except OSError:
        return "not run"

def ops(r): return f"{r['throughputOpsPerS']:,.0f}" if r else "failed"
def lat(r): return f"{r['latencyMs']['p50']:.2f} / {r['latencyMs']['p99']:.2f}" if r else "failed"
def ratio(a, b): return f"{a / b:.2f}" if a and b else "n/a"
def errs(r): return f" ({r['errors']:,} err)" if r and r["errors"] else ""

fs, p1, p100 = load("fsync", "local"), load("ping1", "raftkv"), load("ping100", "raftkv")
st = {k: (load("status1", k), load("status100", k)) for k in ("etcd", "raftkv")}
print("machine limits (same run, same machine):")
if fs: print(f"- raw 4 KiB write + fdatasync: {fs['throughputOpsPerS']:,.0f}/s, p50 {fs['latencyMs']['p50']:.3f} ms, p99 {fs['latencyMs']['p99']:.3f} ms")
if p1 and p100: print(f"- no-op gRPC round trip on loopback (raftkv peer Ping): 1 client {p1['throughputOpsPerS']:,.0f}/s (p50 {p1['latencyMs']['p50']:.3f} ms); 100 clients / 10 conns {p100['throughputOpsPerS']:,.0f}/s")
for k, (s1, s100) in st.items():
    if s1 and s100: print(f"- {k} Maintenance.Status (answered locally): 1 client {s1['throughputOpsPerS']:,.0f}/s (p50 {s1['latencyMs']['p50']:.3f} ms); 100 clients / 10 conns {s100['throughputOpsPerS']:,.0f}/s")
# One ceiling for both systems: the fastest no-op round trip measured at 100 clients / 10 conns, whichever server.
noop_rate = max([r["throughputOpsPerS"] for r in (p100, st["etcd"][1], st["raftkv"][1]) if r] or [0])
fs_rate = fs["throughputOpsPerS"] if fs else 0
print(f"- no-op ceiling used below: {noop_rate:,.0f}/s (the best of the three 100-client no-op rates)")
print()
print(f"workloads: {os.environ['DURATION']} each per system, same client (raftkv bench), leader only; "
      "ratio > 1 means raftkv is better (throughput: raftkv / etcd; p99: etcd / raftkv). "
      "% of limit: throughput as a share of the raw fdatasync rate (put, 1 client: each write waits for at least one) "
      "or of the no-op ceiling (the others: no request can be cheaper than a no-op round trip).")
print()
print("| workload | etcd ops/s | raftkv ops/s | ratio | etcd p50 / p99 ms | raftkv p50 / p99 ms | p99 ratio | etcd % of limit | raftkv % of limit |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
notes = []
for line in os.environ["LABELS"].splitlines():
    name, label, _ = line.split("|", 2)
    e, r = load(name, "etcd"), load(name, "raftkv")
    def pct(res, kind):
        limit = fs_rate if name == "put1" else noop_rate
        return f"{100 * res['throughputOpsPerS'] / limit:.0f} %" if res and limit else "n/a"
    print(f"| {label} | {ops(e)}{errs(e)} | {ops(r)}{errs(r)} | "
          f"{ratio(r and r['throughputOpsPerS'], e and e['throughputOpsPerS'])} | {lat(e)} | {lat(r)} | "
          f"{ratio(e and e['latencyMs']['p99'], r and r['latencyMs']['p99'])} | {pct(e, 'etcd')} | {pct(r, 'raftkv')} |")
    for kind, res in (("etcd", e), ("raftkv", r)):
        if res is None: notes.append(f"{label} on {kind} failed: {why(name, kind)}")
        elif name == "putrate": notes.append(f"open-loop put on {kind}: {res['ok']:,} done at {res['throughputOpsPerS']:,.0f}/s of 1,500/s offered; {res.get('lateStarts', 0):,} late starts (all {res.get('settings', {}).get('clients', '?')} clients busy), latencies from the scheduled start")
        elif name == "txn": notes.append(f"txn on {kind}: {res.get('casConflicts', 0):,} conflicts retried; counters grew by {res.get('casCounterDelta')} for {res['ok']:,} increments")
if os.environ.get("CHECK_PERF") == "1":
    cp = {}
    for kind in ("etcd", "raftkv"):
        try: text = open(f"{results}/checkperf.{kind}.txt").read()
        except OSError: text = ""
        # PASS lines say "Throughput is N writes/s" / "Slowest request took Xs"; FAIL lines word them differently.
        tput = re.search(r"(\d+) writes/s", text)
        slow = re.search(r"Slowest request took[^\d]*([\d.]+)s", text)
        verdict = "PASS" if re.search(r"^PASS\s*$", text, re.M) else ("FAIL" if "FAIL" in text else "?")
        cp[kind] = (int(tput.group(1)) if tput else None, float(slow.group(1)) * 1000 if slow else None, verdict)
    (et, es, ev), (rt, rs, rv) = cp["etcd"], cp["raftkv"]
    f = lambda v, fmt: fmt.format(v) if v is not None else "?"
    print(f"| etcdctl check perf --load=l ({ev} / {rv}) | {f(et, '{:,}')} | {f(rt, '{:,}')} | {ratio(rt, et)} | slowest {f(es, '{:.1f}')} | slowest {f(rs, '{:.1f}')} | {ratio(es, rs)} | | |")
print()
for n in notes: print(f"- {n}")

# --- what each request cost, from both servers' own Prometheus metrics, scraped before and after each run ---------
def prom(name, kind, phase):
    members = []
    for n in (1, 2, 3):
        values = {}
        try:
            for line in open(f"{results}/{name}.{kind}.{phase}.m{n}.prom"):
                if line.startswith("#") or not line.strip(): continue
                key, _, value = line.rpartition(" ")
                try: values[key.strip()] = float(value)
                except ValueError: pass
        except OSError:
            return None
        members.append(values)
    return members

# (total over members, leader only) metric names per system
names = {
    "etcd": dict(cpu="process_cpu_seconds_total", alloc="go_memstats_alloc_bytes_total",
                 fsync="etcd_disk_wal_fsync_duration_seconds_count", fsync_s="etcd_disk_wal_fsync_duration_seconds_sum",
                 entries="etcd_server_proposals_committed_total", leader="etcd_server_is_leader",
                 peer_bytes="etcd_network_peer_sent_bytes_total"),
    "raftkv": dict(cpu="raftkv_process_cpu_seconds_total", alloc="raftkv_dotnet_allocated_bytes_total",
                   fsync="raftkv_wal_fsyncs_total", fsync_s="raftkv_wal_write_seconds_total",
                   entries="raftkv_wal_entries_total", leader="raftkv_is_leader",
                   append_msgs="raftkv_append_messages_sent_total", append_entries="raftkv_append_entries_sent_total"),
}

def total(members, metric):
    # etcd labels some counters per peer: sum every series of the metric.
    return sum(v for m in members for k, v in m.items() if k == metric or k.startswith(metric + "{"))

def costs(name, kind, ok):
    before, after = prom(name, kind, "before"), prom(name, kind, "after")
    if not before or not after or not ok: return None
    n = names[kind]
    d = lambda metric: total(after, metric) - total(before, metric)
    lead = next((i for i, m in enumerate(after) if m.get(n["leader"]) == 1), None)
    out = dict(cpu_ms=1000 * d(n["cpu"]) / ok, alloc_kb=d(n["alloc"]) / 1024 / ok, fsyncs=d(n["fsync"]) / ok)
    fs = d(n["fsync"])
    out["fsync_ms"] = 1000 * d(n["fsync_s"]) / fs if fs else None
    if lead is not None:
        lf = after[lead].get(n["fsync"], 0) - before[lead].get(n["fsync"], 0)
        le = after[lead].get(n["entries"], 0) - before[lead].get(n["entries"], 0)
        out["entries_per_leader_fsync"] = le / lf if lf else None
    if kind == "raftkv" and lead is not None:
        msgs = after[lead].get(n["append_msgs"], 0) - before[lead].get(n["append_msgs"], 0)
        ents = after[lead].get(n["append_entries"], 0) - before[lead].get(n["append_entries"], 0)
        out["entries_per_append"] = ents / msgs if msgs else None
    return out

print()
print("what one request cost (both servers' own metrics, all three members together, per successful request):")
print()
print("| workload | system | CPU ms | allocated KB | fsyncs | mean fsync ms | entries per leader fsync | entries per append |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
fmt = lambda v, spec: format(v, spec) if v is not None else "n/a"
for line in os.environ["LABELS"].splitlines():
    name, label, _ = line.split("|", 2)
    for kind in ("etcd", "raftkv"):
        res = load(name, kind)
        c = costs(name, kind, res and res["ok"])
        if c is None: continue
        print(f"| {label} | {kind} | {c['cpu_ms']:.3f} | {c['alloc_kb']:.1f} | {c['fsyncs']:.3f} | {fmt(c['fsync_ms'], '.2f')} | "
              f"{fmt(c.get('entries_per_leader_fsync'), '.1f')} | {fmt(c.get('entries_per_append'), '.1f')} |")
print()
print("- CPU and allocations include the three members' whole processes (gRPC, Raft, storage, state machine, GC).")
print("- etcd's allocation figure is Go's go_memstats_alloc_bytes_total; raftkv's is .NET's GC.GetTotalAllocatedBytes.")
print("- entries per leader fsync: etcd counts committed proposals (etcd_server_proposals_committed_total).")
PY
