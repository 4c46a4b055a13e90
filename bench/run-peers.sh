#!/usr/bin/env bash
# Runs the side-by-side benchmarks of Aio and its peers (bench/README.md).
#
#   bench/run-peers.sh [--install] [harness options]
#
#   --install   first install the Debian packages the peers need (as root):
#               python3-uvloop python3-aiohttp wrk
#   harness options (bench/harness.py --help): --only W1,W6  --peers aio,asyncio,...
#               --quick  --repeat K  --no-build  --out DIR
#   W7 (HTTP server: Aio.Http, aiohttp on asyncio and uvloop, Node http, Kestrel) runs from its own script:
#               bench/run-peers.sh --only W7 [--peers aio,node,...] [--repeat K]   (bench/w7.py --help)
#
# The harness builds what the selected peers need (bench/c, the .NET peer,
# bench/Aio.Bench) unless --no-build; if a build fails, that peer is reported
# as "not available" rather than run from a stale build.
set -euo pipefail
cd "$(dirname "$0")/.."

harness_args=()
for arg in "$@"; do
    if [[ $arg == --install ]]; then
        apt-get update
        apt-get install -y python3-uvloop python3-aiohttp wrk
    else
        harness_args+=("$arg")
    fi
done

export BENCH_COMMAND="bench/run-peers.sh $*"
if [[ " ${harness_args[*]:-} " == *" --only W7 "* ]]; then
    w7_args=()
    skip=0
    for arg in "${harness_args[@]}"; do
        if [[ $skip == 1 ]]; then skip=0; continue; fi
        if [[ $arg == --only ]]; then skip=1; continue; fi
        w7_args+=("$arg")
    done
    exec /usr/bin/python3 bench/w7.py "${w7_args[@]}"
fi
exec /usr/bin/python3 bench/harness.py "${harness_args[@]}"
