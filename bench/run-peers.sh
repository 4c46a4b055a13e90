#!/usr/bin/env bash
# Runs the side-by-side benchmarks of Aio and its peers (bench/README.md).
#
#   bench/run-peers.sh [--install] [harness options]
#
#   --install   first install the Debian packages the peers need (as root):
#               python3-uvloop python3-aiohttp wrk; then the npm packages of bench/peers/node (ws, for W9)
#   harness options (bench/harness.py --help): --only W1,W6  --peers aio,asyncio,...
#               --quick  --repeat K  --no-build  --out DIR
#   W7 (HTTP server: Aio.Http, aiohttp on asyncio and uvloop, Node http, Kestrel) runs from its own script:
#               bench/run-peers.sh --only W7 [--peers aio,node,...] [--repeat K]   (bench/w7.py --help)
#   W10S (static files, 1 MiB and 1 KiB: Aio.Http's Router.Static, Node's createReadStream().pipe(res), Kestrel's
#   UseStaticFiles) runs from its own script too:
#               bench/run-peers.sh --only W10S [--peers aio,node,kestrel] [--repeat K]   (bench/w10s.py --help)
#   W9 (WebSocket echo, 64 clients x 1 KiB text: Aio.Http's Router.WebSocket, Node's ws, aiohttp on asyncio and
#   uvloop, Kestrel's WebSockets; one Node ws load generator) runs from its own script:
#               bench/run-peers.sh --only W9 [--peers aio,node,...] [--repeat K]   (bench/w9.py --help)
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
        (cd bench/peers/node && npm ci --no-audit --no-fund)
    else
        harness_args+=("$arg")
    fi
done

# --- W8: HTTP client ------------------------------------------------------------------------------
#   bench/run-peers.sh W8 [--n 20000] [--conc 64] [--warmup 2000] [--no-build]
# One target server (Node's http, bench/peers/node/http_server.js) pinned to core 1; each client pinned to
# core 0 in turn: Aio's ClientSession (Aio.Bench http-client), raw HttpClient (Peers.DotNet), aiohttp on
# asyncio and on uvloop, Node's http.Agent. Prints each RESULT line, then req/s and client CPU µs per request
# with ratios to raw HttpClient and to aiohttp+uvloop, from this one run.
run_w8() {
    local n=20000 conc=64 warmup=2000 build=1
    while [[ $# -gt 0 ]]; do
        case $1 in
            --n) n=$2; shift 2 ;;
            --conc) conc=$2; shift 2 ;;
            --warmup) warmup=$2; shift 2 ;;
            --no-build) build=0; shift ;;
            *) echo "W8: unknown option $1" >&2; return 2 ;;
        esac
    done
    if [[ $build == 1 ]]; then
        dotnet build bench/Aio.Bench -c Release -nologo -v q -clp:ErrorsOnly >&2
        dotnet build bench/peers/dotnet -c Release -nologo -v q -clp:ErrorsOnly >&2
    fi
    local port; port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    local url="http://127.0.0.1:$port/" fifo; fifo=$(mktemp -u); mkfifo "$fifo"
    taskset -c 1 node bench/peers/node/http_server.js --port "$port" >"$fifo" &
    local server=$!
    read -r -t 10 ready <"$fifo" || true; rm -f "$fifo"
    [[ ${ready:-} == READY ]] || { echo "W8: the target server did not start" >&2; kill "$server" 2>/dev/null; return 1; }
    local common=(--url "$url" --n "$n" --conc "$conc" --warmup "$warmup") out results=()
    local clients=(
        "dotnet bench/Aio.Bench/bin/Release/net10.0/Aio.Bench.dll http-client"
        "dotnet bench/peers/dotnet/bin/Release/net10.0/Peers.DotNet.dll http-client"
        "/usr/bin/python3 bench/peers/python/http_client.py --loop asyncio"
        "/usr/bin/python3 bench/peers/python/http_client.py --loop uvloop"
        "node bench/peers/node/http_client.js"
    )
    for client in "${clients[@]}"; do
        # shellcheck disable=SC2086
        if out=$(timeout 300 taskset -c 0 $client "${common[@]}" | grep '^RESULT'); then
            echo "$out"; results+=("$out")
        else
            echo "W8: not available: $client" >&2
        fi
    done
    kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
    printf '%s\n' "${results[@]}" | awk '
        { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } peer[NR] = f["peer"]; rps[f["peer"]] = f["value"]; cpu[f["peer"]] = f["cpu_us_per_req"] }
        END {
            printf "\nW8 (%s requests, %s workers, client on core 0, Node server on core 1)\n", "'"$n"'", "'"$conc"'"
            printf "%-18s %10s %14s %12s %12s\n", "client", "req/s", "cpu us/req", "vs dotnet", "vs uvloop"
            for (k = 1; k <= NR; k++) { p = peer[k]
                printf "%-18s %10.0f %14.1f %11.2fx %11.2fx\n", p, rps[p], cpu[p], ("dotnet" in rps) ? rps[p] / rps["dotnet"] : 0, ("aiohttp-uvloop" in rps) ? rps[p] / rps["aiohttp-uvloop"] : 0 }
        }'
}
if [[ ${1:-} == W8 ]]; then
    shift
    run_w8 "$@"
    exit $?
fi

export BENCH_COMMAND="bench/run-peers.sh $*"
# W7, W9 and W10S have their own scripts: --only W<k> hands the other arguments to bench/w<k>.py.
for script in W10S:w10s W9:w9 W7:w7; do
    if [[ " ${harness_args[*]:-} " == *" --only ${script%%:*} "* ]]; then
        script_args=()
        skip=0
        for arg in "${harness_args[@]}"; do
            if [[ $skip == 1 ]]; then skip=0; continue; fi
            if [[ $arg == --only ]]; then skip=1; continue; fi
            script_args+=("$arg")
        done
        exec /usr/bin/python3 "bench/${script#*:}.py" "${script_args[@]}"
    fi
done
exec /usr/bin/python3 bench/harness.py "${harness_args[@]}"
