#!/usr/bin/env bash
# Data-parallel training is the single-process training (docs/TRAINING.md, "Scale-out over MPI"): a small simulated
# world trained once by one process and once by `mpirun -np 2`, with the same data and flags, both evaluated on the
# test file; fails unless every test AUC (CTR, CVR, CTCVR, entire-space CVR) is within TOLERANCE of one process's.
# Both runs cut the same global batches (every rank reads the file with the same shuffle and trains on its
# request-hash rows of each batch); they differ by float reassociation in the summed gradients and by the teacher's
# dropout masks, drawn per rank. Needs mpirun (openmpi-bin) and a built funnel-train (FUNNEL_TRAIN, default: the debug
# build's).
# usage: scripts/mpi_equivalence.sh [TOLERANCE (0.003)]
set -euo pipefail
cd "$(dirname "$0")/.."
B="${FUNNEL_TRAIN:-$(swift build --show-bin-path)/funnel-train}"
tolerance="${1:-0.003}"
world="$(mktemp -d /tmp/funnel-mpi.XXXXXX)"
trap 'rm -rf "$world"' EXIT
"$B" simulate -o "$world" --train-rows 120000 --test-rows 40000 --users 6000 --items 3000 >/dev/null
flags=(--data "$world/train.csv" --schema "$world/schema.json" --threads 1)
# Root in CI containers: OpenMPI refuses to run as root without both variables.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$B" train "${flags[@]}" --state "$world/one.ftrain" | grep -E '^(training|trained) '
mpirun -np 2 --oversubscribe --bind-to none "$B" train "${flags[@]}" --state "$world/two.ftrain" \
    | grep -E '^(training|trained) '
for run in one two; do
    "$B" evaluate --data "$world/test.csv" --truth "$world/test_truth.csv" --state "$world/$run.ftrain" --threads 1 \
        --report "$world/$run.json" >/dev/null
done
python3 - "$world/one.json" "$world/two.json" "$tolerance" <<'PY'
import json, sys
one, two = (json.load(open(path)) for path in sys.argv[1:3])
tolerance = float(sys.argv[3])
failed = False
for task in ("ctr", "cvr", "ctcvr", "entire_space_cvr"):
    a, b = one[task]["auc"], two[task]["auc"]
    ok = abs(a - b) <= tolerance
    failed |= not ok
    print(f"{task:17} AUC np=1 {a:.4f}  np=2 {b:.4f}  difference {b - a:+.4f}  {'ok' if ok else 'FAIL'}")
if failed:
    sys.exit(f"mpi_equivalence: an AUC of np=2 is more than {tolerance} from np=1's")
print(f"mpi_equivalence: every test AUC of np=2 within {tolerance} of one process")
PY
