#!/usr/bin/env bash
# W11 side by side (docs/distributed-jobs.md): Aio, Celery 5 (prefork and solo) and Hangfire with its Redis
# storage, each running n no-op jobs against one private redis-server started here on a free loopback port
# (its own temp dir, no persistence; stopped by its PID at the end). One RESULT line per peer.
#
#   bench/w11.sh [--n N] [--rate R] [--repeat K] [--peers LIST] [--hangfire-workers W] [--hangfire-producers P] [--no-build]
#
#   --n N               jobs per run (default 20000; the default run takes ~2-3 minutes, most of it Celery)
#   --rate R            the producers pace themselves to R jobs/s (latency without a backlog); default 0: flood
#   --repeat K          runs per peer, interleaved (default 1)
#   --hangfire-workers  Hangfire's WorkerCount (default 20; 0: Hangfire's own default, min(5 x cores, 20), 10 here;
#                       on 2 cores 20 ran fastest of 2, 10, 20, 40)
#   --hangfire-producers  threads enqueueing into Hangfire (default 4)
#   --peers LIST        comma-separated subset of aio,celery-prefork,celery-solo,hangfire (default all)
#   --no-build          use the existing Release builds
#
# Needs redis-server and Debian's python3-celery (apt-get install redis-server python3-celery); a missing
# peer is reported as not available.
set -euo pipefail
cd "$(dirname "$0")/.."

n=20000 rate=0 repeat=1 hf_workers=20 hf_producers=4 build=1 peers=aio,celery-prefork,celery-solo,hangfire
while [[ $# -gt 0 ]]; do
    case $1 in
        --n) n=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --hangfire-workers) hf_workers=$2; shift 2 ;;
        --hangfire-producers) hf_producers=$2; shift 2 ;;
        --peers) peers=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        *) echo "bench/w11.sh: unknown option '$1' (see the comment at the top of the script)" >&2; exit 2 ;;
    esac
done

if [[ $build == 1 ]]; then
    dotnet build bench/Aio.Bench -c Release -nologo -clp:ErrorsOnly -v q
    dotnet build bench/peers/hangfire -c Release -nologo -clp:ErrorsOnly -v q
fi

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
dir=$(mktemp -d -t w11-redis.XXXXXX)
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no --daemonize no \
    --logfile "$dir/redis.log" &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
echo "# W11: n=$n rate=$rate, redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port (pid $redis_pid), $(nproc) cores, $(date -u +%FT%TZ)"

run_peer() {
    case $1 in
        aio) dotnet bench/Aio.Bench/bin/Release/net10.0/Aio.Bench.dll W11 --redis-port "$port" --n "$n" --rate "$rate" ;;
        celery-prefork) /usr/bin/python3 bench/peers/celery/w11_celery.py --redis-port "$port" --n "$n" --rate "$rate" --pool prefork --concurrency "$(nproc)" ;;
        celery-solo) /usr/bin/python3 bench/peers/celery/w11_celery.py --redis-port "$port" --n "$n" --rate "$rate" --pool solo --concurrency 1 ;;
        hangfire) dotnet bench/peers/hangfire/bin/Release/net10.0/Peers.Hangfire.dll --redis-port "$port" --n "$n" --rate "$rate" --workers "$hf_workers" --producers "$hf_producers" ;;
    esac
}

for ((r = 1; r <= repeat; r++)); do
    for peer in ${peers//,/ }; do
        if [[ $peer == celery-* ]] && ! /usr/bin/python3 -c 'import celery' 2>/dev/null; then
            echo "# $peer: not available (python3-celery is not installed)"; continue
        fi
        run_peer "$peer" | grep '^RESULT' || echo "# $peer: failed (exit ${PIPESTATUS[0]})"
    done
done
