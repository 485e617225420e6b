#!/usr/bin/env bash
# Installs the Debian packages some tests use. Safe to re-run; quiet when everything is present.
set -euo pipefail
want=()
command -v etcd >/dev/null 2>&1 || want+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || want+=(etcd-client)
# The dashboard's browser test drives Debian's chromium headless (never a downloaded browser).
[ -x /usr/bin/chromium ] || want+=(chromium)
# The application tests (tests/RaftKv.Tests/Apps): Patroni over PostgreSQL 15, and OpenStack's etcd3gw client.
# Installing postgresql may create and start a cluster on port 5432; the tests never use it (they initdb their own).
command -v patroni >/dev/null 2>&1 || want+=(patroni)
[ -x /usr/lib/postgresql/15/bin/initdb ] || want+=(postgresql postgresql-15)
# Network namespaces stand in for separate hosts (tests that run `raftkv cluster` on its fixed ports).
command -v ip >/dev/null 2>&1 || want+=(iproute2)
# Packet loss between those hosts (the robustness suite): nft rules inside a host's namespace. The kernel here has
# no sch_netem, so tc netem is not an option.
command -v nft >/dev/null 2>&1 || want+=(nftables)
# Debian's python (a pyenv one may come first on PATH and lacks Debian's modules).
/usr/bin/python3 -c 'import etcd3gw' >/dev/null 2>&1 || want+=(python3-etcd3gw)
[ ${#want[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
# Quiet when it works; apt's own output when it does not.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${want[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-test-deps: installing ${want[*]} failed" >&2
  exit 1
fi
