#!/usr/bin/env bash
# Runs `etcdctl check perf` against a local 3-member etcd and a local 3-member raftkv, started the same way
# (loopback, fsync on, heartbeat 100 ms, election 1000 ms, data in the same temp directory), one after the other.
# Usage: bench/check-perf.sh [s|m|l|xl ...]   (default: s l). Needs etcd-server and etcd-client (apt-get install).
set -euo pipefail
cd "$(dirname "$0")/.."
loads=("${@:-s l}")
[ $# -eq 0 ] && loads=(s l)
command -v etcd >/dev/null || { echo "etcd not found: apt-get install etcd-server" >&2; exit 2; }
command -v etcdctl >/dev/null || { echo "etcdctl not found: apt-get install etcd-client" >&2; exit 2; }
dotnet build -c Release src/RaftKv -v q -nologo >/dev/null
raftkv="dotnet src/RaftKv/bin/Release/net10.0/raftkv.dll"
root=$(mktemp -d /tmp/raftkv-checkperf.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

endpoints=""
start_cluster() { # kind -> sets $endpoints; runs in this shell so $pids records the members
  local kind=$1 cluster="" names=(m1 m2 m3) cports=() pports=()
  for n in "${names[@]}"; do cports+=("$(free_port)"); pports+=("$(free_port)"); done
  for i in 0 1 2; do cluster+="${names[$i]}=http://127.0.0.1:${pports[$i]},"; done
  cluster=${cluster%,}
  for i in 0 1 2; do
    local args=(--name "${names[$i]}" --data-dir "$root/$kind/${names[$i]}"
      --listen-client-urls "http://127.0.0.1:${cports[$i]}" --advertise-client-urls "http://127.0.0.1:${cports[$i]}"
      --listen-peer-urls "http://127.0.0.1:${pports[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}"
      --initial-cluster "$cluster" --initial-cluster-state new --heartbeat-interval 100 --election-timeout 1000)
    if [ "$kind" = etcd ]; then
      etcd "${args[@]}" --initial-cluster-token checkperf --log-level warn >"$root/$kind-${names[$i]}.log" 2>&1 &
    else
      $raftkv serve "${args[@]}" --initial-cluster-token checkperf --log-level warn --exit-on-stdin-eof </dev/zero >"$root/$kind-${names[$i]}.log" 2>&1 &
    fi
    pids+=($!)
  done
  endpoints="127.0.0.1:${cports[0]},127.0.0.1:${cports[1]},127.0.0.1:${cports[2]}"
}

wait_healthy() {
  for _ in $(seq 1 100); do
    ETCDCTL_API=3 etcdctl --endpoints="$1" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "cluster at $1 did not become healthy" >&2; return 1
}

mkdir -p "$root"
for kind in etcd raftkv; do
  start_cluster $kind
  eps=$endpoints
  wait_healthy "$eps"
  for load in "${loads[@]}"; do
    echo "== $kind, check perf --load=$load"
    ETCDCTL_API=3 etcdctl --endpoints="$eps" check perf --load="$load" 2>&1 | tr '\r' '\n' | grep -E "PASS|FAIL|Slowest|Stddev|Throughput" || true
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done
