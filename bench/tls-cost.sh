#!/usr/bin/env bash
# TLS cost: put throughput and p99 with 100 clients, plaintext against TLS (client and peer ports both https, client
# certificates required on both), for raftkv and for etcd 3.4 in the same run, with the same `raftkv bench` client.
# One 3-member cluster runs at a time (the machine is shared): etcd plain, etcd TLS, raftkv plain, raftkv TLS, the
# order of the two systems alternating with ROUNDS. Certificates come from `raftkv certs` (.NET's CertificateRequest).
# Prints one markdown table.
#
# Usage: bench/tls-cost.sh
# Environment:
#   DURATION=15s   measured time per configuration (a smoke run: DURATION=2s WARMUP=1s)
#   WARMUP=5s      unmeasured run before each measured one (a fresh .NET process still compiles its hot paths)
#   CLIENTS=100    concurrent clients (over CONNS connections)
#   CONNS=10
#   BENCH_DIR      parent directory of the data (default: the system temp dir); a real disk, not tmpfs
#   KEEP=1         keep the data directory and logs
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}; WARMUP=${WARMUP:-5s}; CLIENTS=${CLIENTS:-100}; CONNS=${CONNS:-10}

NAME=raftkv-tls-cost
source bench/lib-cluster.sh

"${raftkv[@]}" certs --dir "$root/certs" >/dev/null
c=$root/certs
server_tls=(--cert-file "$c/server.crt" --key-file "$c/server.key" --trusted-ca-file "$c/ca.crt" --client-cert-auth
  --peer-cert-file "$c/peer.crt" --peer-key-file "$c/peer.key" --peer-trusted-ca-file "$c/ca.crt" --peer-client-cert-auth)
client_tls=(--cacert "$c/ca.crt" --cert "$c/client.crt" --key "$c/client.key")

mkdir -p "$root/results"
run() { # KIND MODE
  local kind=$1 mode=$2 tls=()
  [ "$mode" = tls ] && tls=("${client_tls[@]}")
  echo "  $kind $mode: put, $CLIENTS clients / $CONNS conns, $DURATION" >&2
  start_cluster "$kind" "$mode"
  "${raftkv[@]}" bench -w put --clients "$CLIENTS" --conns "$CONNS" --val-size 256 --endpoints "$eps" "${tls[@]}" \
    --duration "$WARMUP" -o json --no-progress >/dev/null 2>&1 9>&- || true
  "${raftkv[@]}" bench -w put --clients "$CLIENTS" --conns "$CONNS" --val-size 256 --endpoints "$eps" "${tls[@]}" \
    --duration "$DURATION" -o json --no-progress >"$root/results/$kind.$mode.json" 2>"$root/results/$kind.$mode.err" 9>&- || true
  stop_all
}
echo "put with and without TLS, one 3-member cluster at a time under $root ..." >&2
for kind in etcd raftkv; do
  run "$kind" plain
  run "$kind" tls
done

RESULTS="$root/results" DURATION="$DURATION" CLIENTS="$CLIENTS" CONNS="$CONNS" python3 - <<'PY'
import json, os
results = os.environ["RESULTS"]
def load(kind, mode):
    try:
        with open(f"{results}/{kind}.{mode}.json") as f: return json.load(f)
    except (OSError, ValueError): return None
def why(kind, mode):
    try:
        lines = [l.strip() for l in open(f"{results}/{kind}.{mode}.err") if l.strip()]
        return lines[-1] if lines else "no output"
    except OSError: return "not run"
print(f"put, 256 B, {os.environ['CLIENTS']} clients / {os.environ['CONNS']} conns, {os.environ['DURATION']} per configuration, 3 members, "
      "TLS on client and peer ports with client certificates required; cost = TLS / plaintext")
print()
print("| system | plaintext ops/s | TLS ops/s | throughput ratio | plaintext p50 / p99 ms | TLS p50 / p99 ms | p99 ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for kind in ("etcd", "raftkv"):
    p, t = load(kind, "plain"), load(kind, "tls")
    ops = lambda r: f"{r['throughputOpsPerS']:,.0f}" if r else f"failed ({why(kind, 'plain' if r is p else 'tls')})"
    lat = lambda r: f"{r['latencyMs']['p50']:.2f} / {r['latencyMs']['p99']:.2f}" if r else "-"
    tr = f"{t['throughputOpsPerS'] / p['throughputOpsPerS']:.2f}" if p and t and p['throughputOpsPerS'] else "n/a"
    lr = f"{t['latencyMs']['p99'] / p['latencyMs']['p99']:.2f}" if p and t and p['latencyMs']['p99'] else "n/a"
    print(f"| {kind} | {ops(p)} | {ops(t)} | {tr} | {lat(p)} | {lat(t)} | {lr} |")
PY
