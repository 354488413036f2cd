#!/usr/bin/env bash
# The order workflow behind a tether server: one process serves the HTTP API and runs the worker
# on an embedded SQLite file; everything else happens from the command line, as another service
# (a queue consumer, a cron job, a person) would do it with nothing but a token and an API key.
set -euo pipefail

state="${TETHER_DEMO_DIR:-.tether/server-demo}"
rm -rf "$state" && mkdir -p "$state"
export TETHER_DB="sqlite:///$state/tether.db"
export TETHER_DEMO_QUEUE="$state/review-queue.db"
export TETHER_DEMO_HEARTBEAT_SECONDS=300  # a person types these heartbeats: give them time
log="$state/server.log"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {  # show the command with the secrets as the variables that hold them
    local shown="$*"
    for name in ADMIN REVIEWER TOKEN; do
        [ -n "${!name:-}" ] && shown="${shown//${!name}/\$$name}"
    done
    printf '$ %s\n' "$shown"
    "$@"
}

say "API keys: an admin, and a reviewer that may only close activities of fulfil_order"
ADMIN=$(tether keys create --name demo-admin --scope '*:*:*')
REVIEWER=$(tether keys create --name reviewer --scope 'activities:write:fulfil_order')
run tether keys list

say "tether server with a worker for examples.orders.workflows (log: $log)"
tether server --port 0 --worker examples.orders.workflows 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 300); do
    grep -q "tether server on" "$log" && break
    kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
done
export TETHER_URL
TETHER_URL=$(sed -n 's/.*tether server on \(http[^ ]*\).*/\1/p' "$log" | head -1)
[ -n "$TETHER_URL" ] || { cat "$log"; exit 1; }
echo "serving on $TETHER_URL"

say "start an order: stock is reserved, then the approval activity goes async and queues a review"
run tether workflow start fulfil_order '"A-2001"' 120.5 --id order-A-2001 --api-key "$ADMIN"

say "a reviewer takes the request off the queue: all it holds is the activity's token"
TOKEN=$(python -m examples.orders.take_review)
echo "token: ${TOKEN:0:24}..."

say "the reviewer reports progress (stored as the checkpoint)"
run tether activity heartbeat "$TOKEN" --details '{"reviewed": 1, "of": 2}' --api-key "$REVIEWER"
run tether workflow show order-A-2001 --api-key "$ADMIN"

say "the reviewer's key may not cancel orders: refused, nothing changes"
status=0
run tether workflow cancel order-A-2001 --api-key "$REVIEWER" || status=$?
echo "exit code $status (permission denied)"

say "the reviewer approves from the command line"
run tether activity complete "$TOKEN" --result '{"by": "ana", "note": "approved from the command line"}' --api-key "$REVIEWER"

say "the workflow moves on: charges, sleeps durably for 2 s, dispatches"
run tether workflow result order-A-2001 --timeout 60 --api-key "$ADMIN"

say "completing again with the same result is acknowledged; anything else is refused"
run tether activity complete "$TOKEN" --result '{"by": "ana", "note": "approved from the command line"}' --api-key "$REVIEWER"
status=0
run tether activity complete "$TOKEN" --result '{"by": "bob", "note": "late"}' --api-key "$REVIEWER" || status=$?
echo "exit code $status (activity already closed)"

say "stopping the server"
kill -TERM "$server"
wait "$server"
trap - EXIT
tail -n 2 "$log"
