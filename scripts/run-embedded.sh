#!/usr/bin/env bash
# `make run`: the whole service on one laptop with no servers to install.
#
# SQLite under $DATA_DIR, Celery's filesystem broker and file:// result backend (see settings.py), one real
# Celery worker with beat embedded, and the web server. Ctrl-C (or SIGTERM) stops all of it.
#
# Environment: PY (python, default .venv/bin/python), PORT (default 8000), DATA_DIR (default ./var),
# CELERY_LOGLEVEL (default info).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PY:-.venv/bin/python}"
PORT="${PORT:-8000}"
CELERY_LOGLEVEL="${CELERY_LOGLEVEL:-info}"
export DATA_DIR="${DATA_DIR:-$ROOT/var}"
# Collected static files live with the rest of this run's data, so a run with DATA_DIR=/tmp/x touches nothing
# in the checkout. DEBUG is off in embedded mode, so whitenoise (not runserver) serves them from here.
export STATIC_ROOT="${STATIC_ROOT:-$DATA_DIR/static}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# "Embedded" means no servers: a DATABASE_URL or broker URL left in the shell (say, for running the tests on
# PostgreSQL) would silently turn this into a half-production run against shared data.
for var in DATABASE_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND; do
    if [[ -n "${!var:-}" ]]; then
        say "Ignoring $var from the environment: make run is the embedded (SQLite + filesystem broker) mode"
        unset "$var"
    fi
done

# Fail before migrating anything if the port is taken; runserver's own error comes after the worker started.
if ! "$PY" - "$PORT" <<'EOF'
import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError as exc:
        sys.exit(f"Port {sys.argv[1]} is not free ({exc.strerror}); try `make run PORT=8001`.")
EOF
then
    exit 1
fi

mkdir -p "$DATA_DIR"
say "Data directory: $DATA_DIR"

say "Migrating the SQLite database"
"$PY" manage.py migrate --noinput

say "Loading the seed policies (idempotent)"
"$PY" manage.py load_policies
# A program whose window has ended reads "expired" in the API at once either way; this records it (audited)
# now instead of at the next daily job, so nothing stored says otherwise.
say "Marking expired the programs whose window has ended"
"$PY" manage.py expire_programs
# Budgets open on 1 January by a beat job; a fresh install also needs this year's open now to issue anything.
say "Opening fiscal year $(date +%Y) for every published program (idempotent)"
"$PY" manage.py open_fiscal_year "$(date +%Y)"
say "Demo organisations and users"
"$PY" manage.py load_demo

say "Collecting static files into $STATIC_ROOT"
"$PY" manage.py collectstatic --noinput --verbosity 0

# Each child gets its own process group (job control), so that stopping it also stops whatever it forked
# (the embedded beat process, runserver's threads) and the terminal's Ctrl-C reaches only this script,
# which then shuts the children down in order instead of racing them.
set -m
pids=()
stopping=0
# How long the worker may take over its warm shutdown before it is killed. A task in flight can hold it far
# longer (a bulk issuance, or a wait on the SQLite write lock, inside C code where no signal handler runs);
# killing it loses nothing, because every task is idempotent and the stalled-work sweeper re-sends whatever a
# killed task left pending. Everything is gone within STOP_GRACE + about a second.
STOP_GRACE=5

stop_children() {
    # Once only, and deaf to further signals while it runs. A second signal used to kill this script half-way,
    # leaving the worker and the web server running with nobody to stop them (re-parented to PID 1, holding the
    # port). That second signal is routine: `make` forwards a SIGTERM of its own to this script right after the
    # one its process group received (from a supervisor, `timeout` or `kill -TERM -PGID`), and a person presses
    # Ctrl-C twice when the first seems slow. A vanished terminal must not abort it either (SIGPIPE, EIO).
    trap '' INT TERM HUP PIPE
    ((stopping)) && return 0
    stopping=1
    set +e
    ((${#pids[@]})) || return 0
    say "Stopping (worker and web server)…" 2>/dev/null
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
    local _ alive pid
    for _ in $(seq 1 $((STOP_GRACE * 5))); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.2
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
    wait 2>/dev/null
    return 0
}
on_signal() {
    stop_children
    exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP
trap 'status=$?; stop_children; exit "$status"' EXIT

say "Starting the Celery worker with embedded beat"
"$PY" -m celery -A voucher_service worker --beat --pool=solo --loglevel="$CELERY_LOGLEVEL" \
    --hostname="embedded@%h" --schedule="$DATA_DIR/celerybeat-schedule" \
    --without-gossip --without-mingle &
pids+=("$!")

say "Starting the web server on 127.0.0.1:$PORT"
"$PY" manage.py runserver "127.0.0.1:$PORT" --noreload &
pids+=("$!")

# Announce the URLs once the server really answers, not before.
if "$PY" - "$PORT" <<'EOF'
import sys, time, urllib.error, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/healthz"
for _ in range(100):
    try:
        urllib.request.urlopen(url, timeout=2)  # noqa: S310 (a fixed local URL)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)  # it answered; /healthz itself says what is wrong
    except OSError:
        time.sleep(0.2)
sys.exit(1)
EOF
then
    cat <<EOF

  voucher_service is running (embedded: SQLite + filesystem broker, data in $DATA_DIR)

    App:       http://127.0.0.1:$PORT/
    API docs:  http://127.0.0.1:$PORT/api/docs/
    Admin:     http://127.0.0.1:$PORT/admin/
    Health:    http://127.0.0.1:$PORT/healthz

  Demo users: see the load_demo output above.  Ctrl-C stops everything.

EOF
else
    say "The web server did not answer on port $PORT within 20 s; see its output above"
fi

# Either child exiting (a crash, a port clash) ends the run; cleanup stops the other one.
set +e
wait -n
status=$?
set -e
say "A child process exited with status $status"
exit "$status"
