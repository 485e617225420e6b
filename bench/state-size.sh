#!/usr/bin/env bash
# State-size figures of issue 12, raftkv next to etcd 3.4 in the same run on this machine: a 3-member cluster of each
# (one after the other: raftkv, then etcd) on loopback, same flags (fsync on, heartbeat 100 ms, election 1000 ms,
# quota raised to 8 GiB on both), data on the same disk under one temp dir; each with its default --snapshot-count
# (etcd 3.4: 100,000; raftkv on disk: 10,000).
# For each system:
#   1. write N keys of 1 KiB with `raftkv bench -w put --sequential-keys` (100 clients / 10 conns, leader only) in
#      10 chunks of N/10 keys; chunk i uses --key-size 8+i, so the chunks write distinct keys (bench has no key
#      offset: "00000007" and "000000007" are different keys); each chunk's throughput is reported, so the first
#      10% can be compared with the last 10%;
#      (after 5 s of unmeasured warm-up puts on other keys, so the first chunk is not the JIT's);
#   2. kill -9 one follower after chunk 10, write another N/10 keys without it, restart it and time until its
#      revision equals the leader's, sampling its VmRSS every 50 ms meanwhile (peak);
#   3. VmRSS (and RssAnon, its heap part) of every member after the writes (the two that stayed up), after the
#      catch-up (all three) and 2 s after the restart below;
#   4. kill -9 all members, restart them and time until the first linearizable get of a written key succeeds
#      (etcdctl get every 50 ms, up to 120 s).
# Prints a markdown table (both systems and the ratio) and writes JSON to --json FILE.
#
# Usage: bench/state-size.sh [--keys N] [--json FILE] [--only raftkv|etcd]
#   --keys N       keys of 1 KiB to write (default 300000; a multiple of 10)
#   --json FILE    also write the figures as JSON (default: none)
#   --only KIND    run one system only (the table then has one column)
# Environment: BENCH_DIR=<parent of the data dir> (default: $TMPDIR or /tmp; must be a real disk, not tmpfs),
#              KEEP=1 keeps the data and logs, TIMEOUT_S=120 bound of each wait (catch-up, restart, health),
#              RAFTKV_BACKEND=disk|memory raftkv's store (default disk; memory is the store before issue 12).
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=300000; JSON_OUT=""; ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) KEYS=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$KEYS" =~ ^[0-9]+$ ]] && [ "$KEYS" -ge 10 ] && [ $((KEYS % 10)) -eq 0 ] || { echo "--keys must be a multiple of 10, at least 10" >&2; exit 2; }
case "$ONLY" in ""|raftkv|etcd) ;; *) echo "--only takes raftkv or etcd" >&2; exit 2 ;; esac
CHUNK=$((KEYS / 10))
TIMEOUT_S=${TIMEOUT_S:-120}
ETCD_QUOTA=$((8 * 1024 * 1024 * 1024))
RAFTKV_QUOTA=$ETCD_QUOTA # the disk store allows up to 1 TiB (ServerLimits.MaxDiskQuotaBytes)
[ "${RAFTKV_BACKEND:-disk}" = memory ] && RAFTKV_QUOTA=2013265863 # ServerLimits.MaxMemoryQuotaBytes
export ETCDCTL_API=3

command -v etcd >/dev/null && command -v etcdctl >/dev/null || { echo "etcd and etcdctl are needed (apt-get install etcd-server etcd-client)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 2; }

parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
root=$(mktemp -d "$parent/raftkv-state-size.XXXXXX")
[ "$(stat -f -c %T "$root" 2>/dev/null)" = tmpfs ] && echo "warning: $root is on tmpfs: fsync is free there (set BENCH_DIR)" >&2
mkdir -p "$root/results"
pids=()      # every process started, for the trap
declare -A mpid  # member index -> current pid
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
now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# anon_kb PID : the anonymous part of the resident set (heap, stacks); the rest is file pages (etcd's mmapped bbolt
# file, the binaries), which the kernel can drop and reread
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
since() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))" "$1" "$2"; }

KIND=""; cports=(); pports=(); hports=(); cluster=""
setup_ports() {
  cports=(); pports=(); hports=(); cluster=""
  local i
  for i in 0 1 2; do cports+=("$(free_port)"); pports+=("$(free_port)"); hports+=("$(free_port)"); done
  for i in 0 1 2; do cluster+="m$((i + 1))=http://127.0.0.1:${pports[$i]},"; done
  cluster=${cluster%,}
}
# start_member I : starts member I (0..2) of $KIND; state new on first start, the data dir decides afterwards
start_member() {
  local i=$1 name="m$(($1 + 1))"
  local args=(--name "$name" --data-dir "$root/$KIND/$name"
    --listen-client-urls "http://127.0.0.1:${cports[$i]}" --advertise-client-urls "http://127.0.0.1:${cports[$i]}"
    --listen-peer-urls "http://127.0.0.1:${pports[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}"
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "state-size-$KIND"
    --heartbeat-interval 100 --election-timeout 1000 --log-level warn)
  if [ "$KIND" = etcd ]; then
    etcd "${args[@]}" --quota-backend-bytes "$ETCD_QUOTA" >>"$root/$KIND-$name.log" 2>&1 9>&- &
  else
    "${raftkv[@]}" serve "${args[@]}" --quota-backend-bytes "$RAFTKV_QUOTA" --backend "${RAFTKV_BACKEND:-disk}" \
      --listen-http-urls "http://127.0.0.1:${hports[$i]}" --exit-on-stdin-eof \
      <"$root/lifeline" >>"$root/$KIND-$name.log" 2>&1 9>&- &
  fi
  mpid[$i]=$!
  pids+=($!)
}
ep() { echo "127.0.0.1:${cports[$1]}"; }
all_eps() { echo "$(ep 0),$(ep 1),$(ep 2)"; }

# status_json EP : etcdctl endpoint status of one endpoint as JSON (empty when it does not answer)
status_json() { etcdctl --endpoints="$1" --dial-timeout=1s --command-timeout=2s endpoint status -w json 2>/dev/null 9>&- || true; }
# revision EP : the member's revision, or empty
revision() { status_json "$1" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])
except Exception: pass'; }
# leader_index : index (0..2) of the member that reports itself leader, or empty
leader_index() {
  local i
  for i in 0 1 2; do
    if status_json "$(ep "$i")" | python3 -c 'import json,sys
s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["header"]["member_id"]==s["leader"] else 1)' 2>/dev/null; then
      echo "$i"; return 0
    fi
  done
}
wait_leader() {
  local deadline=$(( $(date +%s) + TIMEOUT_S )) l
  while [ "$(date +%s)" -lt "$deadline" ]; do
    l=$(leader_index); [ -n "$l" ] && { echo "$l"; return 0; }
    sleep 0.2
  done
  echo "$KIND: no leader within ${TIMEOUT_S}s; logs under $root" >&2; tail -n 20 "$root/$KIND"-*.log >&2 || true; return 1
}

# run_system KIND : all the measurements for one system, into results/KIND.json
run_system() {
  KIND=$1
  setup_ports
  echo "== $KIND: starting 3 members under $root/$KIND ..." >&2
  local load_start; load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  for i in 0 1 2; do start_member "$i"; done
  local leader; leader=$(wait_leader)
  local follower=$(( (leader + 1) % 3 ))
  echo "   leader m$((leader + 1)); the lagging follower will be m$((follower + 1))" >&2
  # Warm-up, not measured: a fresh .NET process compiles its hot paths in its first seconds, which would otherwise be
  # counted against the first 10% of keys. Its keys (at most 10,000, 7 bytes) are none of the chunks'.
  echo "   warm-up: 5 s of puts (key size 7, at most 10,000 keys) ..." >&2
  "${raftkv[@]}" bench -w put --endpoints "$(ep "$leader")" --key-space 10000 --duration 5s --key-size 7 --val-size 1024 \
    --clients 100 --conns 10 -o json --no-progress >/dev/null 2>&1 9>&- || true
  local chunks=() c
  for c in 0 1 2 3 4 5 6 7 8 9; do
    echo "   chunk $((c + 1))/10: $CHUNK keys, key size $((8 + c)) ..." >&2
    "${raftkv[@]}" bench -w put --endpoints "$(ep "$leader")" --sequential-keys --key-space "$CHUNK" --total "$CHUNK" \
      --key-size $((8 + c)) --val-size 1024 --clients 100 --conns 10 -o json --no-progress \
      >"$root/results/$KIND.chunk$c.json" 2>"$root/results/$KIND.chunk$c.err" 9>&- || true
    chunks+=("$root/results/$KIND.chunk$c.json")
  done
  # The lagging member: down while another CHUNK keys are written (not part of the first/last comparison).
  echo "   kill -9 follower m$((follower + 1)) (pid ${mpid[$follower]}); lag chunk: $CHUNK keys, key size 18 ..." >&2
  kill -9 "${mpid[$follower]}"; wait "${mpid[$follower]}" 2>/dev/null || true
  "${raftkv[@]}" bench -w put --endpoints "$(ep "$leader")" --sequential-keys --key-space "$CHUNK" --total "$CHUNK" \
    --key-size 18 --val-size 1024 --clients 100 --conns 10 -o json --no-progress \
    >"$root/results/$KIND.lag.json" 2>"$root/results/$KIND.lag.err" 9>&- || true
  local rss_after=() anon_after=() i
  for i in 0 1 2; do
    if [ "$i" = "$follower" ]; then rss_after+=(0); anon_after+=(0)
    else rss_after+=("$(rss_kb "${mpid[$i]}")"); anon_after+=("$(anon_kb "${mpid[$i]}")"); fi
  done
  local leader_rev; leader_rev=$(revision "$(ep "$leader")")
  echo "   writes done; leader revision $leader_rev; restarting m$((follower + 1)) ..." >&2

  # --- the lagging member catches up --------------------------------------------------------------------------
  local t0 t1 rev="" caught="" peak=0 r
  t0=$(now)
  start_member "$follower"
  local fpid=${mpid[$follower]}
  # RSS sampler: the follower's VmRSS every 50 ms, the peak in a file
  ( p=0; q=0; while kill -0 "$fpid" 2>/dev/null; do
      r=$(rss_kb "$fpid"); [ "${r:-0}" -gt "$p" ] && p=$r && echo "$p" >"$root/results/$KIND.peak"
      r=$(anon_kb "$fpid"); [ "${r:-0}" -gt "$q" ] && q=$r && echo "$q" >"$root/results/$KIND.peakanon"
      sleep 0.05; done ) 9>&- &
  local sampler=$!; pids+=($sampler)
  local deadline=$(( $(date +%s) + TIMEOUT_S ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    rev=$(revision "$(ep "$follower")")
    if [ -n "$rev" ] && [ -n "$leader_rev" ] && [ "$rev" -ge "$leader_rev" ]; then caught=1; break; fi
    sleep 0.1
  done
  t1=$(now)
  local catchup_s="None"; [ -n "$caught" ] && catchup_s=$(since "$t0" "$t1")
  [ -z "$caught" ] && echo "   $KIND: follower did not catch up within ${TIMEOUT_S}s (revision ${rev:-none} of $leader_rev)" >&2
  sleep 1 # one more second of samples after the catch-up
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  peak=$(cat "$root/results/$KIND.peak" 2>/dev/null || echo 0)
  local peak_anon; peak_anon=$(cat "$root/results/$KIND.peakanon" 2>/dev/null || echo 0)
  echo "   catch-up: ${catchup_s} s, follower peak RSS $((peak / 1024)) MB" >&2
  local rss_caught=() anon_caught=()
  for i in 0 1 2; do rss_caught+=("$(rss_kb "${mpid[$i]}")"); anon_caught+=("$(anon_kb "${mpid[$i]}")"); done
  local disk_kb; disk_kb=$(du -sk "$root/$KIND" | cut -f1)
  # raftkv's longest Raft-loop stall for one snapshot (capture + publish), the largest over the members
  # (wall time), and the most CPU time the loop thread used on one (the snapshot's own work; the rest of the wall
  # time is the scheduler running other threads on the 2 cores)
  local stall_ms="None" stall_cpu_ms="None"
  if [ "$KIND" = raftkv ]; then
    local metrics; metrics=$(for i in 0 1 2; do curl -s --max-time 2 "http://127.0.0.1:${hports[$i]}/metrics" 9>&- || true; done)
    max_ms() { python3 -c 'import sys
v = [float(l.split()[1]) for l in sys.stdin if l.startswith(sys.argv[1] + " ")]
v = [x for x in v if x >= 0]
print(round(max(v) * 1000, 2) if v else "None")' "$1"; }
    stall_ms=$(max_ms raftkv_snapshot_loop_max_seconds <<<"$metrics")
    stall_cpu_ms=$(max_ms raftkv_snapshot_loop_cpu_max_seconds <<<"$metrics")
  fi

  # --- kill -9 all, restart, first linearizable get ------------------------------------------------------------
  echo "   kill -9 all members, restart, wait for a linearizable get ..." >&2
  for i in 0 1 2; do kill -9 "${mpid[$i]}" 2>/dev/null || true; done
  for i in 0 1 2; do wait "${mpid[$i]}" 2>/dev/null || true; done
  local key; key=$(printf '%017d' $((CHUNK - 1))) # the last key of the last chunk (key size 17)
  t0=$(now)
  for i in 0 1 2; do start_member "$i"; done
  local served="" tries=0 out
  deadline=$(( $(date +%s) + TIMEOUT_S ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    tries=$((tries + 1))
    out=$(etcdctl --endpoints="$(all_eps)" --dial-timeout=1s --command-timeout=1s get "$key" --keys-only 2>/dev/null 9>&- || true)
    if [ "$(printf '%s' "$out" | head -n 1)" = "$key" ]; then served=1; break; fi
    sleep 0.05
  done
  t1=$(now)
  local restart_s="None"; [ -n "$served" ] && restart_s=$(since "$t0" "$t1")
  [ -z "$served" ] && echo "   $KIND: no linearizable get within ${TIMEOUT_S}s" >&2
  echo "   restart-to-serving: ${restart_s} s ($tries tries)" >&2
  local rss_restart=() anon_restart=()
  sleep 2
  for i in 0 1 2; do rss_restart+=("$(rss_kb "${mpid[$i]}")"); anon_restart+=("$(anon_kb "${mpid[$i]}")"); done
  for i in 0 1 2; do kill "${mpid[$i]}" 2>/dev/null || true; done
  for i in 0 1 2; do wait "${mpid[$i]}" 2>/dev/null || true; done

  CHUNKS="${chunks[*]}" python3 - "$KIND" "$root/results/$KIND.json" <<PY
import json, os, sys
kind, out = sys.argv[1], sys.argv[2]
chunks = []
for f in os.environ["CHUNKS"].split():
    try: r = json.load(open(f))
    except Exception: r = None
    err = ""
    if r is None:
        try: err = [l for l in open(f[:-5] + ".err") if l.strip()][-1].strip()
        except Exception: err = "no output"
    chunks.append(dict(ok=r and r["ok"], errors=r and r["errors"], opsPerS=r and r["throughputOpsPerS"],
                       elapsedS=r and r["elapsedS"], p99Ms=r and r["latencyMs"]["p99"], error=err or None))
mb = lambda kb: round(int(kb) / 1024, 1)
json.dump(dict(system=kind, keys=$KEYS, valueBytes=1024, leader="m$((leader + 1))", laggingFollower="m$((follower + 1))",
    chunks=chunks,
    rssMbAfterWrites=[None if $follower == i else mb(v) for i, v in enumerate("${rss_after[*]}".split())],
    rssMbAfterCatchUp=[mb(v) for v in "${rss_caught[*]}".split()],
    rssMbAfterRestart=[mb(v) for v in "${rss_restart[*]}".split()],
    anonMbAfterWrites=[None if $follower == i else mb(v) for i, v in enumerate("${anon_after[*]}".split())],
    anonMbAfterCatchUp=[mb(v) for v in "${anon_caught[*]}".split()],
    anonMbAfterRestart=[mb(v) for v in "${anon_restart[*]}".split()], catchUpPeakAnonMb=mb($peak_anon),
    leaderRevision=int("${leader_rev:-0}"), catchUpS=$catchup_s, catchUpPeakRssMb=mb($peak),
    restartToServingS=$restart_s, dataDirMb=mb($disk_kb), snapshotLoopMaxMs=$stall_ms, snapshotLoopCpuMaxMs=$stall_cpu_ms,
    loadAvgAtStart="$load_start", loadAvgAtEnd="$(cut -d' ' -f1-3 /proc/loadavg)"), open(out, "w"), indent=1)
PY
}

systems=(raftkv etcd); [ -n "$ONLY" ] && systems=("$ONLY")
for s in "${systems[@]}"; do run_system "$s"; done

RESULTS="$root/results" JSON_OUT="$JSON_OUT" SYSTEMS="${systems[*]}" python3 - <<'PY'
import json, os
res = {}
for s in os.environ["SYSTEMS"].split():
    try: res[s] = json.load(open(f"{os.environ['RESULTS']}/{s}.json"))
    except Exception: res[s] = None
def first_last(r):
    c = r["chunks"]; return c[0]["opsPerS"], c[-1]["opsPerS"]
def rng(v):
    v = [x for x in v if x is not None]
    return f"{min(v):,.0f}-{max(v):,.0f} MB" if v else "n/a"
def num(v, f): return format(v, f) if v is not None else "failed"
rows = [
    ("resident memory per member after the writes (the 2 members that stayed up)", lambda r: rng(r["rssMbAfterWrites"]), lambda r: max(x for x in r["rssMbAfterWrites"] if x is not None)),
    ("  of which anonymous (RssAnon: heap, not file pages)", lambda r: rng(r["anonMbAfterWrites"]), lambda r: max(x for x in r["anonMbAfterWrites"] if x is not None)),
    ("resident memory per member after the catch-up (all 3)", lambda r: rng(r["rssMbAfterCatchUp"]), lambda r: max(r["rssMbAfterCatchUp"])),
    ("resident memory per member 2 s after the restart", lambda r: rng(r["rssMbAfterRestart"]), lambda r: max(r["rssMbAfterRestart"])),
    ("  of which anonymous (RssAnon)", lambda r: rng(r["anonMbAfterRestart"]), lambda r: max(r["anonMbAfterRestart"])),
    ("restart-to-serving (linearizable get) after kill -9 of all, s", lambda r: num(r["restartToServingS"], ".2f"), lambda r: r["restartToServingS"]),
    ("write throughput, first 10% of keys (3 members), ops/s", lambda r: num(first_last(r)[0], ",.0f"), lambda r: first_last(r)[0]),
    ("write throughput, last 10% of keys (3 members), ops/s", lambda r: num(first_last(r)[1], ",.0f"), lambda r: first_last(r)[1]),
    ("last / first 10% throughput", lambda r: num(first_last(r)[1] / first_last(r)[0], ".2f") if all(first_last(r)) else "n/a", lambda r: first_last(r)[1] / first_last(r)[0] if all(first_last(r)) else None),
    ("write throughput, first half / last half, ops/s", lambda r: "{:,.0f} / {:,.0f}".format(*[sum(c["ok"] or 0 for c in h) / sum(c["elapsedS"] or 0 for c in h) if sum(c["elapsedS"] or 0 for c in h) else 0 for h in (r["chunks"][:5], r["chunks"][5:])]), None),
    ("lagging member (down while the last N/10 keys were written): catch-up time, s", lambda r: num(r["catchUpS"], ".2f"), lambda r: r["catchUpS"]),
    ("lagging member: peak resident memory during catch-up", lambda r: f"{r['catchUpPeakRssMb']:,.0f} MB", lambda r: r["catchUpPeakRssMb"]),
    ("  peak anonymous (RssAnon) during catch-up", lambda r: f"{r['catchUpPeakAnonMb']:,.0f} MB", lambda r: r["catchUpPeakAnonMb"]),
    ("data directory, 3 members together", lambda r: f"{r['dataDirMb']:,.0f} MB", lambda r: r["dataDirMb"]),
    ("longest Raft-loop stall for one snapshot (raftkv's metric), ms", lambda r: num(r["snapshotLoopMaxMs"], ".2f") if r.get("snapshotLoopMaxMs") is not None else "n/a", None),
    ("  the most loop-thread CPU time for one snapshot (its own work), ms", lambda r: num(r["snapshotLoopCpuMaxMs"], ".2f") if r.get("snapshotLoopCpuMaxMs") is not None else "n/a", None),
]
systems = [s for s in ("raftkv", "etcd") if s in res]
n = next((r["keys"] for r in res.values() if r), 0)
print(f"{n:,} keys of 1 KiB, 3 members on loopback, 100 clients / 10 conns to the leader, same run, same disk")
print()
print("| | " + " | ".join(systems) + (" | raftkv / etcd |" if len(systems) == 2 else " |"))
print("| --- |" + " ---: |" * (len(systems) + (1 if len(systems) == 2 else 0)))
for label, show, val in rows:
    cells = [show(res[s]) if res[s] else "failed" for s in systems]
    line = f"| {label} | " + " | ".join(cells)
    if len(systems) == 2:
        try: ratio = f"{val(res['raftkv']) / val(res['etcd']):.2f}" if val else ""
        except Exception: ratio = "n/a"
        line += f" | {ratio}"
    print(line + " |")
print()
for s in systems:
    r = res[s]
    if not r: print(f"- {s}: no results"); continue
    print(f"- {s}: load average (1/5/15 min) {r.get('loadAvgAtStart')} at start, {r.get('loadAvgAtEnd')} at the end (the machine's other work shows here)")
    print(f"- {s} per chunk ops/s: " + ", ".join(num(c["opsPerS"], ",.0f") + (f" ({c['errors']} err)" if c["errors"] else "") + (f" [{c['error']}]" if c["error"] else "") for c in r["chunks"]))
if os.environ["JSON_OUT"]:
    json.dump(res, open(os.environ["JSON_OUT"], "w"), indent=1)
    print(f"\n(JSON: {os.environ['JSON_OUT']})")
PY
