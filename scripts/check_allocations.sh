#!/usr/bin/env bash
# Proves that scoring a batch allocates nothing after warm-up: runs the same batch 2 and 12 times under
# valgrind (release build) and requires the same heap allocation count. valgrind 3.19 cannot read the DWARF 5
# that Swift emits, so it runs a copy of the binary without debug info.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product funnel-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/funnel-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
strip -g -o "$work/funnel-bench" "$bin"
"$work/funnel-bench" kernel --out "$work" --batches 1 --seconds 0.01 >/dev/null  # writes the benchmark model
count() {
    valgrind --tool=memcheck "$work/funnel-bench" steady-state "$work/model.fckpt" --rows 128 --requests 2 \
        --iterations "$1" 2>&1 | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p'
}
few=$(count 2)
many=$(count 12)
echo "heap allocations: $few after 2 batches, $many after 12 batches (128 rows, 2 requests each)"
if [[ -z "$few" || "$few" != "$many" ]]; then
    echo "FAIL: scoring a batch allocates" >&2
    exit 1
fi
echo "OK: 0 allocations per batch after warm-up"
