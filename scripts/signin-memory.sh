#!/usr/bin/env bash
# Memory of the server under 40 concurrent sign-ins (distinct unknown emails: every one is hashed) against the debug server.
set -euo pipefail
BIN=${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target}/debug/server
DIR=$(mktemp -d /tmp/haul-rss.XXXX); chmod 711 $DIR
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export PATH=$HOME/.cache/haul/tools/seaweedfs/bin:$PATH
env HAUL_DATA_DIR=$DIR/data HAUL_ADDR=127.0.0.1:$PORT HAUL_RATE_LIMIT_PER_IP=10000 HAUL_LOG=warn ${EXTRA_ENV:-} "$BIN" > $DIR/log 2>&1 &
PID=$!
for i in $(seq 1 120); do curl -fs http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.5; done
O="Origin: http://127.0.0.1:$PORT"
curl -s -H "$O" -d email=a@example.com -d password='correct horse battery' http://127.0.0.1:$PORT/api/sign_up >/dev/null
rss() { grep -E "$1" /proc/$PID/status | awk '{print $2/1024 " MiB"}'; }
echo "before: RSS $(rss VmRSS) peak $(rss VmHWM)"
for i in $(seq 1 40); do
  curl -s -o /dev/null -w "%{http_code}\n" -H "$O" -d email=u$i@example.com -d password=wrongwrong http://127.0.0.1:$PORT/api/sign_in &
done | sort | uniq -c
wait_children() { for j in $(jobs -p); do [[ $j == $PID ]] || wait $j; done; }
wait_children
echo "after 40 concurrent sign-ins: RSS $(rss VmRSS) peak $(rss VmHWM)"
kill -TERM $PID; for i in $(seq 1 20); do kill -0 $PID 2>/dev/null || break; sleep 0.5; done; kill -KILL $PID 2>/dev/null || true
rm -rf $DIR
