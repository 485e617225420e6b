#!/usr/bin/env bash
# The robustness suite's long run (issue 16), on demand: N hosts (network namespaces on a bridge, a member per host
# on etcd's default ports) for M minutes of every fault kind under traffic, then the linearizability, revision,
# watch and HashKV checks. The normal suite runs the same test for 1 minute on 3 hosts. Needs root, iproute2 and
# nftables (scripts/install-test-deps.sh installs them).
#
# Usage: scripts/robustness.sh [--hosts N] [--minutes M] [--seed S]      (defaults: 5 hosts, 10 minutes, seed 16)
# The run's page and PNG are written to ${TMPDIR:-/tmp}/raftkv-robustness/hosts-NxMmin.{html,png}.
set -euo pipefail
cd "$(dirname "$0")/.."

hosts=5; minutes=10; seed=16
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=${2:?--hosts needs a number}; shift 2 ;;
    --minutes) minutes=${2:?--minutes needs a number}; shift 2 ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    *) echo "robustness.sh: unknown argument '$1' (known: --hosts N, --minutes M, --seed S)" >&2; exit 2 ;;
  esac
done
for v in "$hosts" "$minutes" "$seed"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "robustness.sh: '$v' is not a positive whole number" >&2; exit 2; }
done
[ "$hosts" -le 9 ] || { echo "robustness.sh: at most 9 hosts" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "robustness.sh: network namespaces need root" >&2; exit 2; }

dotnet build -c Release >/dev/null
RAFTKV_ROBUSTNESS_HOSTS=$hosts RAFTKV_ROBUSTNESS_MINUTES=$minutes RAFTKV_ROBUSTNESS_SEED=$seed \
  dotnet test tests/RaftKv.Tests -c Release --no-build \
  --filter "FullyQualifiedName~FaultRunTests.OnHosts_EveryFaultKind" --logger "console;verbosity=detailed"
