#!/usr/bin/env python3
"""Training throughput, in one run: Funnel's trainer (funnel-train, 2 cores) vs torch-rechub's ESMM (PyPI
`torch-rechub`, which pulls `torch`; CPU, 2 threads) on the same CSV with the same embedding and MLP sizes.

Data: a synthetic CSV with 23 categorical fields named and sized like Ali-CCP's (user, item, cross and
context fields; Zipf-like ids), click ≈ 4%, purchase ≈ 0.5% of impressions, written once.
Model on both sides: shared embeddings (dimension 8 per field, the same vocabularies) → two towers
(CTR, CVR), each 184→64→32→16→1 with ReLU; loss BCE(click, p_ctr) + BCE(click·purchase, p_ctr·p_cvr)
(ESMM); Adam lr 1e-3; batch 1024; one epoch. Funnel's network: PLE with 0 shared and 1 specific expert per
task ([64, 32]) and towers [16], i.e. exactly one MLP per task on the shared embeddings, which is
torch-rechub's ESMM (its towers are MLP(dims=[64, 32, 16]) plus the output layer).

torch runs with set_flush_denormal(True): without it, dense Adam on the embedding tables slows down ~10x
after a few hundred steps (subnormal moments of untouched rows; measured 1.4k rows/s at 500k rows).
Funnel's rows/s includes reading and encoding the CSV (streamed); torch's is the training loop only, on
tensors built from the CSV beforehand (parse time printed separately) — this favours torch.

usage: scripts/bench_train.py [--rows 500000] [--python PY] [--out DIR]
  --python: interpreter with torch-rechub (default: this one); e.g. a venv made with
            python3 -m venv /tmp/rechub && /tmp/rechub/bin/pip install torch-rechub
Needs funnel-train (release): set FUNNEL_TRAIN or build .build/release/funnel-train.
"""
import argparse, json, os, subprocess, sys, time

FIELDS = [  # (name, group, vocabulary) — Ali-CCP's fields, big vocabularies capped
    ("101", "user", 100000), ("121", "user", 98), ("122", "user", 14), ("124", "user", 3), ("125", "user", 8),
    ("126", "user", 4), ("127", "user", 4), ("128", "user", 3), ("129", "user", 5), ("109_14", "user", 5853),
    ("110_14", "user", 50000), ("127_14", "user", 50000), ("150_14", "user", 31858),
    ("205", "item", 100000), ("206", "item", 6929), ("207", "item", 100000), ("210", "item", 80232),
    ("216", "item", 100000), ("508", "item", 5888), ("509", "item", 100000), ("702", "item", 51878),
    ("853", "item", 37148), ("301", "context", 3),
]
DIM = 8
TORCH_BENCH = r'''
import sys, time, json, numpy as np, torch
from torch_rechub.basic.features import SparseFeature
from torch_rechub.models.multi_task import ESMM
path, fields, dim, batch = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(2); torch.manual_seed(1)
# Dense Adam decays the moments of untouched embedding rows into subnormal floats after a few hundred steps,
# which slows x86 ~10x; flushing them is the usual fix and keeps the comparison fair to torch.
torch.set_flush_denormal(True)
t0 = time.time()
data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64)
t1 = time.time()
click, purchase = torch.tensor(data[:, 0], dtype=torch.float32), torch.tensor(data[:, 1], dtype=torch.float32)
x_all = {name: torch.tensor(data[:, 2 + i]) for i, (name, group, vocab) in enumerate(fields)}
user = [SparseFeature(n, vocab_size=v, embed_dim=dim) for n, g, v in fields if g != "item"]
item = [SparseFeature(n, vocab_size=v, embed_dim=dim) for n, g, v in fields if g == "item"]
params = {"dims": [64, 32, 16], "activation": "relu", "dropout": 0}
model = ESMM(user, item, cvr_params=params, ctr_params=params)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
bce = torch.nn.BCELoss()
rows = len(click); order = torch.randperm(rows)
model.train(); t2 = time.time()
for start in range(0, rows, batch):
    idx = order[start:start + batch]
    x = {k: v[idx] for k, v in x_all.items()}
    out = model(x)  # [cvr, ctr, ctcvr]
    y, z = click[idx], purchase[idx]
    loss = bce(out[:, 1], y) + bce(out[:, 2], y * z)  # torch-rechub MTLTrainer's ESMM losses
    opt.zero_grad(); loss.backward(); opt.step()
t3 = time.time()
print(json.dumps({"rows": rows, "parse_s": t1 - t0, "train_s": t3 - t2, "rows_per_s": rows / (t3 - t2),
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
'''


def write_csv(path, rows, seed=1):
    import numpy as np
    rng = np.random.default_rng(seed)
    cols = []
    for name, group, vocab in FIELDS:
        # Zipf-like ids in [1, vocab)
        ids = np.minimum((rng.pareto(1.2, rows) * vocab / 50).astype(np.int64) + 1, vocab - 1)
        cols.append(ids)
    click = (rng.random(rows) < 0.04).astype(np.int64)
    purchase = click * (rng.random(rows) < 0.12).astype(np.int64)
    with open(path, "w") as f:
        f.write("click,purchase," + ",".join(n for n, _, _ in FIELDS) + "\n")
        table = np.column_stack([click, purchase] + cols)
        for start in range(0, rows, 100000):
            chunk = table[start:start + 100000]
            f.write("\n".join(",".join(map(str, r)) for r in chunk.tolist()) + "\n")


def schema():
    return {"features": {"hash_seed": 1, "fields": [
        {"name": n, "group": g, "kind": "categorical", "buckets": v, "dimension": DIM} for n, g, v in FIELDS]},
        "labels": {"click": "click", "conversion": "purchase"}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500000)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--out", default="/tmp/funnel-bench-train")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = os.environ.get("FUNNEL_TRAIN") or os.path.join(root, ".build/release/funnel-train")
    os.makedirs(args.out, exist_ok=True)
    csv = f"{args.out}/bench_{args.rows}.csv"
    if not os.path.exists(csv):
        write_csv(csv, args.rows)
    with open(f"{args.out}/schema.json", "w") as f:
        json.dump(schema(), f)
    config = {"network": {"architecture": "ple", "levels": 1, "shared_experts": 0, "specific_experts": 1,
                          "expert_layers": [64, 32], "tower_layers": [16]},
              "losses": {"model": "esmm", "delay": "ignore"}, "batch_size": 1024, "seed": 1,
              # torch-rechub's optimizer: Adam at a constant 1e-3 (funnel-train's default is a cosine decay from 3e-3).
              "optimizer": {"learning_rate": 0.001, "learning_rate_schedule": "constant"},
              # The training loop only, as for torch (the default post-training calibration pass is left out).
              "calibration": {"method": "none"}}
    with open(f"{args.out}/config.json", "w") as f:
        json.dump(config, f)
    out = subprocess.run([binary, "train", "--data", csv, "--schema", f"{args.out}/schema.json", "--config",
                          f"{args.out}/config.json", "--state", f"{args.out}/bench.ftrain"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stdout + out.stderr)
    line = next(l for l in out.stdout.splitlines() if l.startswith("trained "))
    funnel = float(line.split(":")[1].split()[0])
    print(f"funnel-train ESMM: {line}")
    t = subprocess.run([args.python, "-c", TORCH_BENCH, csv, json.dumps(FIELDS), str(DIM), "1024"], capture_output=True, text=True)
    if t.returncode != 0:
        sys.exit("torch-rechub run failed (pip install torch-rechub into --python's environment):\n" + t.stderr[-2000:])
    torch = json.loads(t.stdout.strip().splitlines()[-1])
    print(f"torch-rechub ESMM (torch {torch['torch']}, {torch['threads']} threads): {torch['rows']} rows, "
          f"training loop {torch['train_s']:.1f} s: {torch['rows_per_s']:.0f} rows/s (CSV → tensors {torch['parse_s']:.1f} s, not counted)")
    print(f"ratio funnel / torch-rechub = {funnel / torch['rows_per_s']:.2f}x")


if __name__ == "__main__":
    main()
