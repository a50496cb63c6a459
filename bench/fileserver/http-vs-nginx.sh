#!/usr/bin/env bash
# FileServer HTTP vs nginx on the same 1,000 files of 200 KB, loaded by the
# same wrk settings, in ROUNDS rounds (each server back to back in every
# round), plus gRPC GetFile throughput. Writes the figures to bench/RESULTS.md
# under "## FileServer" (other sections are left alone; http-report.ts).
#
#   bench/fileserver/http-vs-nginx.sh     # ROUNDS=3 DURATION=10s CONNECTIONS=64 THREADS=2 CACHE_BYTES=268435456
#
# Like for like: the FileServer with 1 and 2 HTTP processes ([FileServer]
# http_processes), nginx with 1 and 2 worker processes; and the FileServer
# with its cache off (the cold path).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
# Enough for the 1,000 files (195 MiB): the page cache holds them for nginx too.
CACHE_BYTES=${CACHE_BYTES:-268435456}
FS_PORT=${FS_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d /tmp/aide-fs-bench.XXXXXX)
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; fi
  if [ -f "$WORK/nginx.pid" ]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; for _ in $(seq 50); do [ -f "$WORK/nginx.pid" ] || break; sleep 0.1; done; fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

echo "creating 1000 files of 200 KB in $WORK/root/bench"
mkdir -p "$WORK/root/bench" "$WORK/out"
for i in $(seq 0 999); do head -c 204800 /dev/urandom > "$WORK/root/bench/f$i.jpg"; done
# nginx workers drop privileges: they must be able to read the files.
chmod -R a+rX "$WORK"

export BENCH_URL_SIGNING_KEY=$(head -c 32 /dev/urandom | base64)
node --import tsx bench/fileserver/wrk-paths.ts bench 1000 > "$WORK/pick.lua"
FIRST=$(awk -F'"' '/files/ {print $2; exit}' "$WORK/pick.lua")

nginx_conf() { # $1 = worker_processes
  cat > "$WORK/nginx.conf" <<CONF
worker_processes $1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /files/ { alias $WORK/root/; etag on; }
  }
}
CONF
}

wait_for() { # $1 = port; also checks the bytes of the first file
  for _ in $(seq 300); do
    if curl -sf -o "$WORK/probe" "http://127.0.0.1:$1$FIRST"; then cmp "$WORK/probe" "$WORK/root/bench/f0.jpg"; return 0; fi
    sleep 0.1
  done
  echo "port $1 not serving" >&2; exit 1
}

measure() { # $1 = name, $2 = port, $3 = round
  wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$WORK/pick.lua" "http://127.0.0.1:$2" > /dev/null # warm-up (JIT, cache)
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/pick.lua" "http://127.0.0.1:$2" > "$WORK/out/$1-$3.txt"
  echo "$1 round $3: $(awk '/Requests\/sec/ {print $2}' "$WORK/out/$1-$3.txt") req/s, p99 $(awk '$1 == "99%" {print $2}' "$WORK/out/$1-$3.txt")"
  stop_server
}

fileserver() { # $1 = name, $2 = http_processes, $3 = cache bytes, $4 = round
  node --import tsx bench/fileserver/serve-http.ts "$WORK/root" "$FS_PORT" "$2" "$3" > "$WORK/fs.log" 2>&1 &
  SERVER_PID=$!
  wait_for "$FS_PORT"
  measure "$1" "$FS_PORT" "$4"
}

nginx() { # $1 = name, $2 = workers, $3 = round
  nginx_conf "$2"
  "$NGINX" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"
  wait_for "$NGINX_PORT"
  measure "$1" "$NGINX_PORT" "$3"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
  nginx nginx1 1 "$round"
  fileserver fs1 1 "$CACHE_BYTES" "$round"
  nginx nginx2 2 "$round"
  fileserver fs2 2 "$CACHE_BYTES" "$round"
  fileserver fs1-nocache 1 0 "$round"
done

echo "== gRPC GetFile"
GRPC=$(node --import tsx bench/fileserver/grpc-throughput.ts 200000000 5)
echo "$GRPC"

HEADER="HTTP GET of 1,000 files of 200 KB (a random signed URL per request), wrk -t$THREADS -c$CONNECTIONS -d$DURATION,
same machine ($(nproc) cores, $(uname -m), $(node --version), $("$NGINX" -v 2>&1 | sed 's/.*: //'); $(date -u +%Y-%m-%d)),
FileServer http_cache_bytes = $CACHE_BYTES per process; load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after."
node --import tsx bench/fileserver/http-report.ts "$WORK/out" "$HEADER" "$GRPC"
