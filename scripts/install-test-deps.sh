#!/usr/bin/env bash
# Installs the Debian packages some tests use. Safe to re-run; quiet when everything is present.
set -euo pipefail
want=()
command -v etcd >/dev/null 2>&1 || want+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || want+=(etcd-client)
# The dashboard's browser test drives Debian's chromium headless (never a downloaded browser).
[ -x /usr/bin/chromium ] || want+=(chromium)
[ ${#want[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
