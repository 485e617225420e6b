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

command -v etcd >/dev/null && command -v etcdctl >/dev/null || { echo "etcd and etcdctl are needed: apt-get install etcd-server etcd-client" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed (free ports, JSON)" >&2; exit 2; }

parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
root=$(mktemp -d "$parent/raftkv-tls-cost.XXXXXX")
bench/publish-raftkv.sh "$root/raftkv-bin"
raftkv=(dotnet "$root/raftkv-bin/raftkv.dll")
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  trap - EXIT INT TERM
  stop_all
  exec 9>&- 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $root" >&2; else rm -rf "$root"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Lifeline (as in compare-etcd.sh): raftkv members exit when this script's fd 9 closes, even after a SIGKILL.
mkfifo "$root/lifeline"
exec 9<>"$root/lifeline"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

"${raftkv[@]}" certs --dir "$root/certs" >/dev/null
c=$root/certs
server_tls=(--cert-file "$c/server.crt" --key-file "$c/server.key" --trusted-ca-file "$c/ca.crt" --client-cert-auth
  --peer-cert-file "$c/peer.crt" --peer-key-file "$c/peer.key" --peer-trusted-ca-file "$c/ca.crt" --peer-client-cert-auth)
client_tls=(--cacert "$c/ca.crt" --cert "$c/client.crt" --key "$c/client.key")

# start_cluster KIND MODE (plain|tls) -> sets eps (client endpoints)
start_cluster() {
  local kind=$1 mode=$2 scheme=http cluster="" names=(m1 m2 m3) cports=() pports=() i
  [ "$mode" = tls ] && scheme=https
  for _ in "${names[@]}"; do cports+=("$(free_port)"); pports+=("$(free_port)"); done
  for i in 0 1 2; do cluster+="${names[$i]}=$scheme://127.0.0.1:${pports[$i]},"; done
  cluster=${cluster%,}
  for i in 0 1 2; do
    local args=(--name "${names[$i]}" --data-dir "$root/$kind-$mode/${names[$i]}"
      --listen-client-urls "$scheme://127.0.0.1:${cports[$i]}" --advertise-client-urls "$scheme://127.0.0.1:${cports[$i]}"
      --listen-peer-urls "$scheme://127.0.0.1:${pports[$i]}" --initial-advertise-peer-urls "$scheme://127.0.0.1:${pports[$i]}"
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "tls-cost-$kind-$mode"
      --heartbeat-interval 100 --election-timeout 1000 --log-level warn)
    [ "$mode" = tls ] && args+=("${server_tls[@]}")
    if [ "$kind" = etcd ]; then
      etcd "${args[@]}" >"$root/$kind-$mode-${names[$i]}.log" 2>&1 9>&- &
    else
      "${raftkv[@]}" serve "${args[@]}" --exit-on-stdin-eof <"$root/lifeline" >"$root/$kind-$mode-${names[$i]}.log" 2>&1 9>&- &
    fi
    pids+=($!)
  done
  eps="$scheme://127.0.0.1:${cports[0]},$scheme://127.0.0.1:${cports[1]},$scheme://127.0.0.1:${cports[2]}"
  local ctl=(); [ "$mode" = tls ] && ctl=("${client_tls[@]}")
  for _ in $(seq 1 150); do
    ETCDCTL_API=3 etcdctl --endpoints="$eps" "${ctl[@]}" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "$kind ($mode) at $eps did not become healthy; logs: $root/$kind-$mode-*.log" >&2
  tail -n 20 "$root/$kind-$mode"-*.log >&2 || true
  return 1
}

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
