# Sourced by the bench scripts that start one 3-member cluster at a time (tls-cost.sh, check-perf.sh): a data root,
# the published raftkv, a lifeline, free ports, start and stop. Not run on its own.
#
# Before sourcing, set NAME (the data root's prefix). After it: $root, raftkv=(dotnet .../raftkv.dll), and
#   start_cluster KIND MODE [extra server flags...]   KIND etcd|raftkv, MODE plain|tls (tls needs server_tls and
#                                                     client_tls set, see tls-cost.sh); sets eps, the client endpoints
#   stop_all                                          stops every member started
# Environment: BENCH_DIR (parent of the data root; default the temp dir; a real disk, not tmpfs), KEEP=1 keeps it.

command -v etcd >/dev/null && command -v etcdctl >/dev/null || { echo "etcd and etcdctl are needed: apt-get install etcd-server etcd-client" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed (free ports, JSON)" >&2; exit 2; }

parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
root=$(mktemp -d "$parent/$NAME.XXXXXX")
[ "$(stat -f -c %T "$root" 2>/dev/null)" = tmpfs ] && echo "warning: $root is on tmpfs: fsync is free there (set BENCH_DIR)" >&2
bench/publish-raftkv.sh "$root/raftkv-bin"
raftkv=(dotnet "$root/raftkv-bin/raftkv.dll")
pids=()
server_tls=(); client_tls=()
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

start_cluster() {
  local kind=$1 mode=$2 scheme=http cluster="" names=(m1 m2 m3) cports=() pports=() i
  shift 2
  [ "$mode" = tls ] && scheme=https
  for _ in "${names[@]}"; do cports+=("$(free_port)"); pports+=("$(free_port)"); done
  for i in 0 1 2; do cluster+="${names[$i]}=$scheme://127.0.0.1:${pports[$i]},"; done
  cluster=${cluster%,}
  for i in 0 1 2; do
    local args=(--name "${names[$i]}" --data-dir "$root/$kind-$mode/${names[$i]}"
      --listen-client-urls "$scheme://127.0.0.1:${cports[$i]}" --advertise-client-urls "$scheme://127.0.0.1:${cports[$i]}"
      --listen-peer-urls "$scheme://127.0.0.1:${pports[$i]}" --initial-advertise-peer-urls "$scheme://127.0.0.1:${pports[$i]}"
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "$NAME-$kind-$mode"
      --heartbeat-interval 100 --election-timeout 1000 --log-level warn "$@")
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
