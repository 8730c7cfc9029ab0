#!/usr/bin/env bash
# docs/OPERATIONS.md's walk-through, run in order on one machine without Kubernetes or systemd:
#   1. install the binary, the configuration and a model repository in the unit's layout (under a scratch root);
#   2. start funnel-serve as deploy/systemd/funnel-serve.service would: its ExecStart and Environment= read from
#      the unit, a clean environment, as an unprivileged user with no_new_privs (when run as root);
#   3. score a request;
#   4. roll version 2 in (made with `funnel-train checkpoint init`, verified, renamed into place) with SIGHUP
#      (= systemctl reload);
#   5. drop a corrupt version 3 in and let polling find it: it is rejected and counted, version 2 keeps serving;
#   6. roll back to version 1 (remove 3, move 2 aside, SIGHUP);
#   7. stop as systemctl stop does (SIGTERM: drain, exit 0).
# Exits non-zero at the first step that does not do what the guide says.
#
#   bash scripts/operate_demo.sh                 # builds the release binaries first (swift build -c release)
#   FUNNEL_BIN_DIR=dir bash scripts/operate_demo.sh   # uses funnel-serve and funnel-train from dir
#   DEMO_PORT=18080 (default): the unit's port 8080 is replaced by this one, so a running daemon is not disturbed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

step() { printf '\n== %s\n' "$*"; }
die() { echo "operate_demo: FAILED: $*" >&2; [[ -f "${root:-}/journal.log" ]] && tail -20 "$root/journal.log" >&2; exit 1; }

if [[ -z "${FUNNEL_BIN_DIR:-}" ]]; then
    swift build -c release --product funnel-serve
    swift build -c release --product funnel-train
    FUNNEL_BIN_DIR="$(swift build -c release --show-bin-path)"
fi
port="${DEMO_PORT:-18080}"
unit="deploy/systemd/funnel-serve.service"

root="$(mktemp -d /tmp/funnel-demo.XXXXXX)"
chmod 0755 "$root"
pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$root"
}
trap cleanup EXIT

step "1. install (the unit's layout, under $root)"
install -D -m 0755 "$FUNNEL_BIN_DIR/funnel-serve" "$root/usr/local/bin/funnel-serve"
install -D -m 0755 "$FUNNEL_BIN_DIR/funnel-train" "$root/usr/local/bin/funnel-train"
install -D -m 0644 deploy/serve.json "$root/etc/funnel/serve.json"
install -D -m 0644 deploy/systemd/funnel-serve.default "$root/etc/default/funnel-serve"
models="$root/var/lib/funnel/models"
install -D -m 0644 models/funnel-student/1/model.fckpt "$models/funnel-student/1/model.fckpt"
chmod -R a+rX "$root"
train="$root/usr/local/bin/funnel-train"
find "$root" -type f | sed "s#^$root##" | sort

step "2. start as $unit would"
# ExecStart and Environment= from the unit; paths under $root; FUNNEL_PORT=$port instead of the unit's.
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
environment=()
while read -r assignment; do
    environment+=("$assignment")
done < <(sed -n 's/^Environment=//p' "$unit" | tr ' ' '\n'; grep -E '^[A-Z_]+=' "$root/etc/default/funnel-serve" || true)
command=()
for word in $exec_start; do
    case "$word" in
        /*) command+=("$root$word") ;;
        *) command+=("$word") ;;
    esac
done
rewritten=()
for assignment in "${environment[@]}"; do
    case "$assignment" in
        FUNNEL_MODELS=*) rewritten+=("FUNNEL_MODELS=$root${assignment#FUNNEL_MODELS=}") ;;
        FUNNEL_PORT=*) rewritten+=("FUNNEL_PORT=$port") ;;
        *) rewritten+=("$assignment") ;;
    esac
done
# User=funnel + NoNewPrivileges=yes: an unprivileged account (nobody here) with no_new_privs, when we are root.
as_user=()
if [[ $(id -u) == 0 ]]; then
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs)
fi
echo "${as_user[*]} env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ${rewritten[*]} ${command[*]}"
"${as_user[@]}" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${rewritten[@]}" "${command[@]}" \
    >"$root/stdout.log" 2>"$root/journal.log" &
pid=$!
url="http://127.0.0.1:$port"
ready_version() { curl -s --http1.1 "$url/readyz" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["model"]["version"] if d.get("status")=="ready" else "")' 2>/dev/null || true; }
wait_for_version() {
    local want="$1" seconds="$2"
    for ((i = 0; i < seconds * 10; i++)); do
        [[ "$(ready_version)" == "$want" ]] && return 0
        kill -0 "$pid" 2>/dev/null || die "funnel-serve exited"
        sleep 0.1
    done
    die "/readyz did not report version $want within $seconds s (it says: $(curl -s --http1.1 "$url/readyz"))"
}
wait_for_version 1 30
cat "$root/stdout.log"
echo "running as: $(ps -o user= -p "$pid"), pid $pid; /readyz: $(curl -s --http1.1 "$url/readyz")"

step "3. score"
body='{"user": {"user_id": "u-42", "user_age": 31, "user_recent_categories": ["shoes", "bags"]},
  "context": {"device": "ios", "hour_of_day": 21},
  "candidates": [
    {"id": "sku-1", "features": {"item_id": 1001, "item_category": "shoes", "price": 59.0}},
    {"id": "sku-2", "features": {"item_id": 1002, "item_category": "bags", "price": 120.0}},
    {"id": "sku-3", "features": {"item_id": 1003, "item_category": "hats", "price": 15.5}}],
  "top_k": 2}'
score() { curl -s --http2-prior-knowledge "$url/v1/score" -H 'content-type: application/json' -d "$body"; }
answer="$(score)"
echo "$answer"
[[ "$answer" == *'"version":1'* && "$answer" == *'"pctr"'* ]] || die "scoring answered: $answer"

step "4. roll version 2 in (funnel-train checkpoint init → verify → rename into place → SIGHUP)"
staging="$models/funnel-student/.staging-2"   # not a number: the daemon ignores it
mkdir -p "$staging"
"$train" checkpoint init --spec config/models/default.json -o "$staging/model.fckpt" --model-version 2 --seed 2
"$train" checkpoint verify "$staging/model.fckpt"
chmod -R a+rX "$staging"
mv "$staging" "$models/funnel-student/2"
kill -HUP "$pid"                              # = systemctl reload funnel-serve (ExecReload)
wait_for_version 2 10
answer="$(score)"
echo "$answer"
[[ "$answer" == *'"version":2'* ]] || die "version 2 is not serving: $answer"

step "5. a corrupt version 3: found by polling (reload_poll_seconds), rejected, counted; version 2 keeps serving"
mkdir -p "$models/funnel-student/.staging-3"
head -c 4096 /dev/urandom >"$models/funnel-student/.staging-3/model.fckpt"
chmod -R a+rX "$models/funnel-student/.staging-3"
mv "$models/funnel-student/.staging-3" "$models/funnel-student/3"
poll="$(python3 -c 'import json; print(json.load(open("deploy/serve.json")).get("reload_poll_seconds", 10))')"
failure='funnel_model_reloads_total{result="failure"} 1'
metrics=""
for ((i = 0; i < (poll + 10) * 10; i++)); do
    metrics="$(curl -s --http1.1 "$url/metrics")"   # (not piped into grep -q: pipefail + SIGPIPE)
    [[ "$metrics" == *"$failure"* ]] && break
    sleep 0.1
done
grep -E '^funnel_model_(reloads_total|info)' <<<"$metrics" || true
[[ "$metrics" == *"$failure"* ]] || die "the corrupt version was not counted"
[[ "$(ready_version)" == 2 ]] || die "version 2 should still serve"
grep -m1 'rejected model version' "$root/journal.log" || die "no 'rejected model version' log line"

step "6. roll back to version 1 (remove 3, move 2 aside, SIGHUP)"
rm -rf "$models/funnel-student/3"
mv "$models/funnel-student/2" "$models/funnel-student/2.rolled-back"
kill -HUP "$pid"
wait_for_version 1 10
answer="$(score)"
echo "$answer"
[[ "$answer" == *'"version":1'* ]] || die "version 1 is not serving after the rollback: $answer"
ls "$models/funnel-student"

step "7. stop as systemctl stop does (KillSignal=SIGTERM; drain; exit 0 within TimeoutStopSec)"
timeout_stop="$(sed -n 's/^TimeoutStopSec=//p' "$unit")"
start=$(date +%s)
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
elapsed=$(($(date +%s) - start))
grep -E '"draining"|"stopped"|draining|stopped' "$root/journal.log" | tail -2 || true
((status == 0)) || die "exit status $status after SIGTERM"
((elapsed <= timeout_stop)) || die "took ${elapsed}s, more than TimeoutStopSec=$timeout_stop"
echo "exit 0 after ${elapsed}s"

echo
echo "operate_demo: passed (start as the unit, score, roll in v2, reject corrupt v3, roll back to v1, drain)"
