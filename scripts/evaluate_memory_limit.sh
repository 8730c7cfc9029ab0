#!/usr/bin/env bash
# Evaluation in bounded memory (docs/TRAINING.md, "Streaming evaluation"): `evaluate` on a large simulated test
# file under an address-space limit (prlimit --as) that a small file needs plus MARGIN_MIB. Keeping one Float per
# row for pCTR, pCVR, click and conversion and a UInt64 group id (as the evaluator did before it streamed) would
# take 24 bytes a row, more than the margin from about 2M rows; the streaming evaluator must pass.
#   1. simulate a world with a small training file and a large test file (ROWS rows; default 4,000,000);
#   2. train a small model on it (one thread);
#   3. bisect the smallest limit (MiB) under which the first 100,000 test rows evaluate;
#   4. evaluate the whole test file (and its truth file) under that limit + MARGIN_MIB (default 32): must succeed.
# With OLD_FUNNEL_TRAIN set to a funnel-train that keeps the arrays, step 4 is repeated with it (expected to fail).
# usage: scripts/evaluate_memory_limit.sh [ROWS]   (FUNNEL_TRAIN: default .build/release/funnel-train)
set -euo pipefail
cd "$(dirname "$0")/.."
B="${FUNNEL_TRAIN:-.build/release/funnel-train}"
rows="${1:-4000000}"
margin="${MARGIN_MIB:-32}"
world="$(mktemp -d /tmp/funnel-memory.XXXXXX)"
trap 'rm -rf "$world"' EXIT
# One malloc arena: the address space then follows what is allocated, not how many threads ever allocated.
export MALLOC_ARENA_MAX=1
"$B" simulate -o "$world" --train-rows 20000 --test-rows "$rows" | tail -n +2 | head -1
"$B" train --data "$world/train.csv" --schema "$world/schema.json" --state "$world/model.ftrain" --threads 1 \
    | grep '^trained '
head -n 100001 "$world/test.csv" >"$world/small.csv"
head -n 100001 "$world/test_truth.csv" >"$world/small_truth.csv"
evaluate() {  # evaluate BINARY LIMIT_MIB DATA TRUTH
    prlimit --as=$(($2 * 1024 * 1024)) "$1" evaluate --state "$world/model.ftrain" --data "$3" --truth "$4" --threads 1
}
low=16 high=8192
while ((high - low > 2)); do
    middle=$(((low + high) / 2))
    if evaluate "$B" "$middle" "$world/small.csv" "$world/small_truth.csv" >/dev/null 2>&1; then
        high=$middle
    else
        low=$middle
    fi
done
limit=$((high + margin))
echo "smallest limit for 100,000 rows: $high MiB; limit for $rows rows: $limit MiB"
echo "arrays of 24 bytes a row would need $((rows * 24 / 1024 / 1024)) MiB beyond the first 100,000 rows' needs"
echo "--- $B evaluate, $rows rows, prlimit --as=${limit}MiB:"
evaluate "$B" "$limit" "$world/test.csv" "$world/test_truth.csv"
if [[ -n "${OLD_FUNNEL_TRAIN:-}" ]]; then
    echo "--- $OLD_FUNNEL_TRAIN evaluate (arrays kept), same file and limit:"
    status=0
    evaluate "$OLD_FUNNEL_TRAIN" "$limit" "$world/test.csv" "$world/test_truth.csv" >"$world/old.log" 2>&1 || status=$?
    grep -v '^\s*$' "$world/old.log" | head -3
    echo "exit status $status"
fi
