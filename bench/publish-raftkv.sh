#!/usr/bin/env bash
# Publishes raftkv as it ships into DIR: Release, ReadyToRun (precompiled, so a member does not spend its start
# JIT-compiling; measured: a 3-member restart served 40% sooner than from `dotnet build` output on the 2-core bench
# machine), framework-dependent, for this machine's runtime. The benchmarks run this copy, so a build in the same
# checkout meanwhile cannot swap the binary under a running member.
# Usage: bench/publish-raftkv.sh DIR     (then: dotnet DIR/raftkv.dll ...)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: bench/publish-raftkv.sh DIR" >&2; exit 2; }
case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) echo "publish-raftkv: no runtime identifier known for $(uname -m)" >&2; exit 2 ;;
esac
echo "publishing raftkv (Release, ReadyToRun, $rid) to $1 ..." >&2
dotnet publish src/RaftKv -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true -o "$1" -v q -nologo >&2
[ -f "$1/raftkv.dll" ] || { echo "publish-raftkv: $1/raftkv.dll was not produced" >&2; exit 1; }
