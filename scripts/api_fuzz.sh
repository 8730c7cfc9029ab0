#!/usr/bin/env bash
# API fuzzing: schemathesis generates requests from docs/openapi.yaml against a release funnel-serve on
# 127.0.0.1 (ephemeral port): no 5xx, every response conforms to the document (status, content type, schema,
# headers). Then the hand-written nasty inputs (Tests/Abuse/nasty_inputs.py): each must be a clear 4xx.
#
#   bash scripts/api_fuzz.sh [max-examples-per-operation]     # default 1000 (≈ 1200 cases in all)
#
# Excluded check: positive_data_acceptance. The schema cannot say which feature names a model requires (that is
# GET /v1/models' job, by design), so schema-valid bodies without e.g. "price" are rightly answered 400.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EXAMPLES=${1:-1000}
bash scripts/python_tools.sh
[ -x .build-rel/release/funnel-serve ] && [ "${FUNNEL_REBUILD:-1}" = 0 ] ||
    swift build -c release --scratch-path .build-rel --product funnel-serve 2>&1 | tail -1
OUT=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$OUT"' EXIT
python3 - "$OUT" <<'PY' &
import sys, time, signal, os
sys.path.insert(0, "Tests/Abuse")
from funnel_client import Daemon
d = Daemon({"read_timeout_seconds": 30})
open(sys.argv[1] + "/port", "w").write(str(d.port))
signal.signal(signal.SIGTERM, lambda *_: (print(f"api_fuzz daemon: exit {d.stop()}"), sys.exit(0)))
while d.alive():
    time.sleep(0.5)
print("api_fuzz daemon died", file=sys.stderr)
sys.exit(1)
PY
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.2; done
PORT=$(cat "$OUT/port")
echo "== schemathesis: $EXAMPLES examples per operation against 127.0.0.1:$PORT"
set +e
# Run from $OUT so schemathesis' .hypothesis/ and .schemathesis/ caches stay out of the work tree.
(cd "$OUT" && PYTHONPATH="$ROOT/Tests/Abuse" SCHEMATHESIS_HOOKS=schemathesis_hooks schemathesis run "$ROOT/docs/openapi.yaml" --url "http://127.0.0.1:$PORT" -n "$EXAMPLES" --checks all \
    --exclude-checks positive_data_acceptance --continue-on-failure --generation-deterministic \
    --report junit --report-junit-path "$OUT/junit.xml") >"$OUT/st.log" 2>&1
st=$?
set -e
sed -n '/SUMMARY/,$p' "$OUT/st.log"
[ $st -eq 0 ] || { sed -n '/FAILURES/,/SUMMARY/p' "$OUT/st.log" | head -60; }
echo "== nasty inputs"
set +e
python3 Tests/Abuse/nasty_inputs.py --port "$PORT"
nasty=$?
set -e
kill -TERM $SERVER_PID; wait $SERVER_PID || true
echo "api_fuzz: schemathesis exit $st, nasty inputs exit $nasty"
[ $st -eq 0 ] && [ $nasty -eq 0 ]
