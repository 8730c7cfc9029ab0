#!/usr/bin/env bash
# Proves that two hot paths allocate nothing after warm-up (release builds):
# 1. scoring a batch: the same batch 2 and 12 times under valgrind must make the same heap allocation count, for
#    the benchmark model and for the served default (two networks)
#    (valgrind 3.19 cannot read the DWARF 5 that Swift emits, so it runs a copy of the binary without debug info);
# 2. GET /healthz over HTTP/2: funnel-serve under an LD_PRELOAD allocation counter (scripts/count_allocations.c;
#    valgrind cannot run the daemon), once with 2,000 warm-up requests and once with 20,000 more on a second
#    connection; the difference per extra request must be below 0.05 (one allocation per request would give 1).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product funnel-bench >/dev/null
swift build -c release --product funnel-serve >/dev/null
bin=$(swift build -c release --show-bin-path)/funnel-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
strip -g -o "$work/funnel-bench" "$bin"
"$work/funnel-bench" kernel --out "$work" --batches 1 --seconds 0.01 >/dev/null  # writes the benchmark model
count() {  # $1: checkpoint, $2: iterations
    valgrind --tool=memcheck "$work/funnel-bench" steady-state "$1" --rows 128 --requests 2 \
        --iterations "$2" 2>&1 | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p'
}
# The benchmark model, and the served default (the highest version: the student with its separate CTR network).
default_model=$(ls -d models/funnel-student/*/ | sort -t/ -k3 -n | tail -1)model.fckpt
for model in "$work/model.fckpt" "$default_model"; do
    few=$(count "$model" 2)
    many=$(count "$model" 12)
    echo "$model: heap allocations $few after 2 batches, $many after 12 batches (128 rows, 2 requests each)"
    if [[ -z "$few" || "$few" != "$many" ]]; then
        echo "FAIL: scoring a batch allocates" >&2
        exit 1
    fi
done
echo "OK: 0 allocations per batch after warm-up"

# The Swift toolchain's clang (it builds the C targets), whether or not a system compiler is installed.
cc=$(command -v clang || echo "$(dirname "$(readlink -f "$(command -v swift)")")/clang")
"$cc" -shared -fPIC -O2 -o "$work/count_allocations.so" scripts/count_allocations.c
serve=$(swift build -c release --show-bin-path)/funnel-serve
port=18777
healthz_allocations() {  # $1: requests after the warm-up
    FUNNEL_ALLOCATION_COUNT_FILE="$work/count" LD_PRELOAD="$work/count_allocations.so" \
        "$serve" --port "$port" --models models --log-level error >/dev/null &
    local pid=$!
    until curl -sf --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.1; done
    h2load -n 2000 -c 1 -m 1 "http://127.0.0.1:$port/healthz" >/dev/null
    if (($1 > 0)); then h2load -n "$1" -c 1 -m 1 "http://127.0.0.1:$port/healthz" >/dev/null; fi
    kill -TERM "$pid"
    wait "$pid"
    cat "$work/count"
}
baseline=$(healthz_allocations 0)
loaded=$(healthz_allocations 20000)
per_request=$(python3 -c "print(f'{($loaded - $baseline) / 20000:.4f}')")
echo "heap allocations: $baseline with 2,000 GET /healthz, $loaded with 20,000 more: $per_request per request"
if python3 -c "import sys; sys.exit(0 if $per_request < 0.05 else 1)"; then
    echo "OK: 0 allocations per GET /healthz after warm-up"
else
    echo "FAIL: GET /healthz allocates" >&2
    exit 1
fi
