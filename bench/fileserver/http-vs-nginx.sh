#!/usr/bin/env bash
# FileServer HTTP vs nginx on the same 1,000 files of 200 KB, loaded by the
# same wrk run settings, plus gRPC GetFile throughput. Writes the numbers to
# bench/RESULTS.md under "## FileServer" (other sections are left alone).
#
#   bench/fileserver/http-vs-nginx.sh            # DURATION=10s CONNECTIONS=64 THREADS=2
#
# nginx is measured twice: with one worker (like for like: the FileServer is
# one Node process) and with one worker per core.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
FS_PORT=${FS_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d /tmp/aide-fs-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "creating 1000 files of 200 KB in $WORK/root/bench"
mkdir -p "$WORK/root/bench"
for i in $(seq 0 999); do head -c 204800 /dev/urandom > "$WORK/root/bench/f$i.jpg"; done
# nginx workers drop privileges: they must be able to read the files.
chmod -R a+rX "$WORK"

cat > "$WORK/pick.lua" <<'LUA'
-- A random one of the 1,000 files per request, as a browser paging through images would.
request = function()
  return wrk.format("GET", "/files/bench/f" .. math.random(0, 999) .. ".jpg")
end
LUA

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

# "Requests/sec: N" and the 99% latency line of wrk --latency, the latter in ms.
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() {
  awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; printf "%.2f", v}' "$1"
}
load() { # $1 = port, $2 = output file
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/pick.lua" "http://127.0.0.1:$1" > "$2"
  cat "$2"
}
wait_for() { for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$1/files/bench/f0.jpg" && return 0; sleep 0.1; done; echo "port $1 not serving" >&2; exit 1; }

node --import tsx bench/fileserver/serve-http.ts "$WORK/root" "$FS_PORT" > "$WORK/fs.log" 2>&1 &
PIDS+=($!)
wait_for "$FS_PORT"
cmp <(curl -s "http://127.0.0.1:$FS_PORT/files/bench/f7.jpg") "$WORK/root/bench/f7.jpg"
echo "== FileServer HTTP (1 Node process)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$WORK/pick.lua" "http://127.0.0.1:$FS_PORT" > /dev/null # warm-up (JIT)
load "$FS_PORT" "$WORK/fs.txt"

for workers in 1 auto; do
  nginx_conf "$workers"
  "$NGINX" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"
  wait_for "$NGINX_PORT"
  cmp <(curl -s "http://127.0.0.1:$NGINX_PORT/files/bench/f7.jpg") "$WORK/root/bench/f7.jpg"
  echo "== nginx (worker_processes $workers)"
  load "$NGINX_PORT" "$WORK/nginx-$workers.txt"
  kill "$(cat "$WORK/nginx.pid")"
  for _ in $(seq 50); do [ -f "$WORK/nginx.pid" ] || break; sleep 0.1; done
done

echo "== gRPC GetFile"
GRPC=$(node --import tsx bench/fileserver/grpc-throughput.ts 200000000 5)
echo "$GRPC"
GRPC_MBPS=$(node -e "console.log(JSON.parse(process.argv[1]).medianMBps.toFixed(0))" "$GRPC")

FS_RPS=$(rps "$WORK/fs.txt"); FS_P99=$(p99 "$WORK/fs.txt")
N1_RPS=$(rps "$WORK/nginx-1.txt"); N1_P99=$(p99 "$WORK/nginx-1.txt")
NA_RPS=$(rps "$WORK/nginx-auto.txt"); NA_P99=$(p99 "$WORK/nginx-auto.txt")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

SECTION=$(cat <<MD
## FileServer

HTTP GET of 1,000 files of 200 KB (random file per request), wrk -t$THREADS -c$CONNECTIONS -d$DURATION,
same machine and run ($(nproc) cores, $(uname -m), $(node --version), $("$NGINX" -v 2>&1 | sed 's/.*: //'); $(date -u +%Y-%m-%d)).
Produced by \`bench/fileserver/http-vs-nginx.sh\`.

| server | req/s | p99 latency (ms) | FileServer ÷ this |
|---|---:|---:|---:|
| FileServer HTTP (1 Node process) | $FS_RPS | $FS_P99 | 1.00 |
| nginx, 1 worker (sendfile) | $N1_RPS | $N1_P99 | $(ratio "$FS_RPS" "$N1_RPS") |
| nginx, $(nproc) workers (sendfile) | $NA_RPS | $NA_P99 | $(ratio "$FS_RPS" "$NA_RPS") |

Target: FileServer ≥ 0.6 × nginx req/s. wrk shares the cores with the servers, and on a shared
machine the absolute numbers swing by tens of percent between runs; compare within one run.
nginx hands each file to the kernel with sendfile(2); the FileServer reads every byte into
userland (libuv thread pool) and writes it back out, after its own path checks (two realpaths,
open, fstat). Closing the gap takes more processes (SO_REUSEPORT / cluster) or letting nginx
send the bytes after the FileServer authorized and resolved the path (X-Accel-Redirect).

gRPC GetFile, one 200 MB file over loopback (client and server in one process, SHA-256 checked on both ends):
median **$GRPC_MBPS MB/s** over 5 rounds.
MD
)

RESULTS=bench/RESULTS.md
[ -f "$RESULTS" ] || printf '# Benchmark results\n' > "$RESULTS"
# Replace our section (up to the next "## " heading), or append it.
SECTION="$SECTION" node -e '
  const fs = require("node:fs");
  const file = process.argv[1];
  const text = fs.readFileSync(file, "utf8");
  const section = process.env.SECTION.trim() + "\n";
  const re = /^## FileServer\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  const out = re.test(text) ? text.replace(re, section + "\n") : text.trimEnd() + "\n\n" + section;
  fs.writeFileSync(file, out.trimEnd() + "\n");
' "$RESULTS"
echo "written to $RESULTS"
