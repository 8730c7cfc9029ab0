#!/usr/bin/env bash
# Training throughput against the thread count (docs/TRAINING.md, "Threads"): the default simulated world trained
# with each of the given thread counts in turn, for ROUNDS alternated rounds (1, 2, 1, 2, …) so that load from other
# jobs falls on every count alike; prints each run's rows/s and the median per count. Needs a release funnel-train
# (FUNNEL_TRAIN, default .build/release/funnel-train).
# usage: scripts/bench_threads.sh [ROUNDS (3)] [THREAD COUNTS… (1 2)]
set -euo pipefail
cd "$(dirname "$0")/.."
B="${FUNNEL_TRAIN:-.build/release/funnel-train}"
rounds="${1:-3}"
shift || true
counts=("${@:-1 2}")
read -r -a counts <<<"${counts[*]}"
world="$(mktemp -d /tmp/funnel-threads.XXXXXX)"
trap 'rm -rf "$world"' EXIT
"$B" simulate -o "$world" >/dev/null
declare -A figures
for round in $(seq "$rounds"); do
    for threads in "${counts[@]}"; do
        line="$("$B" train --data "$world/train.csv" --schema "$world/schema.json" --state "$world/model.ftrain" \
            --threads "$threads" | grep '^trained ')"
        rate="$(sed -E 's/.* ([0-9]+) rows\/s.*/\1/' <<<"$line")"
        echo "round $round, $threads threads: $line (load $(cut -d' ' -f1 /proc/loadavg))"
        figures[$threads]+="$rate "
    done
done
for threads in "${counts[@]}"; do
    median="$(tr ' ' '\n' <<<"${figures[$threads]}" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')"
    echo "$threads threads: median $median rows/s over $rounds runs (${figures[$threads]% })"
done
