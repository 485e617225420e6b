#!/usr/bin/env bash
# `etcdctl check perf` against a 3-member etcd 3.4 and a 3-member raftkv in the same run (one cluster at a time, same
# flags, same disk): etcd's own verdict on throughput, the slowest request and the latency's standard deviation.
# The large load (--load=l) is the one a snapshot's stall on the Raft loop used to fail (issue 12).
# Prints one markdown table and each system's etcdctl output.
#
# Usage: bench/check-perf.sh [--load s|m|l|xl]     (default l; each check runs 60 s)
# Environment: BENCH_DIR (parent of the data; a real disk), KEEP=1 keeps the data and logs.
set -euo pipefail
cd "$(dirname "$0")/.."

LOAD=l
while [ $# -gt 0 ]; do
  case "$1" in
    --load) LOAD=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$LOAD" in s|m|l|xl) ;; *) echo "--load takes s, m, l or xl" >&2; exit 2 ;; esac

NAME=raftkv-check-perf
source bench/lib-cluster.sh
mkdir -p "$root/results"

for kind in etcd raftkv; do
  echo "  $kind: etcdctl check perf --load=$LOAD (60 s) ..." >&2
  # The quota raised to 8 GiB on both, as in state-size.sh, so that neither hits it during the run
  start_cluster "$kind" plain --quota-backend-bytes $((8 * 1024 * 1024 * 1024))
  # check perf exits 1 when a criterion fails; its output still says which
  ETCDCTL_API=3 timeout 180 etcdctl --endpoints="$eps" check perf --load="$LOAD" --auto-compact --auto-defrag \
    >"$root/results/$kind.out" 2>&1 9>&- || true
  stop_all
done

RESULTS="$root/results" LOAD="$LOAD" python3 - <<'PY'
import os, re
results, load = os.environ["RESULTS"], os.environ["LOAD"]
def parse(kind):
    try: text = open(f"{results}/{kind}.out").read()
    except OSError: return None, "not run"
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", l).strip() for l in re.split(r"[\r\n]+", text)]
    # etcdctl prints a passed criterion as "PASS: ...", a failed one as "FAIL: ..." or in words ("Slowest request took
    # too long: ...", "Stddev too high: ..."), then PASS or FAIL alone
    verdicts = [l for l in lines if l.startswith(("PASS", "FAIL")) or re.match(r"(Throughput|Slowest|Stddev)", l)]
    # the progress bar's lines are left out of the transcript
    return verdicts, "\n".join(l for l in lines if l and not re.match(r"^\d+ / \d+ ", l) and "%" not in l)
print(f"etcdctl check perf --load={load}, 3 members on loopback, same run, same disk")
print()
print("| system | throughput | slowest request | stddev | verdict |")
print("| --- | --- | --- | --- | --- |")
outputs = {}
for kind in ("etcd", "raftkv"):
    verdicts, text = parse(kind)
    outputs[kind] = text
    if not verdicts:
        print(f"| {kind} | - | - | - | no verdict (see below) |"); continue
    pick = lambda word: next((v for v in verdicts if word in v), "-")
    final = verdicts[-1] if verdicts[-1] in ("PASS", "FAIL") else ("FAIL" if any(v.startswith("FAIL") for v in verdicts) else "PASS")
    print(f"| {kind} | {pick('Throughput')} | {pick('Slowest')} | {pick('Stddev')} | {final} |")
for kind, text in outputs.items():
    print(f"\n{kind}:\n```\n{text[-2000:]}\n```")
PY
