#!/usr/bin/env python3
"""Model-quality benchmark against peers (issue 12 item 1): on the same train/test CSVs, train Funnel's models and
every peer, score the test file, and print one markdown table per world with mean ± spread over seeds.

Rows: Funnel's default recipe and `--model esmm` (figures from the EXPORTED checkpoint, through `funnel-train
evaluate --checkpoint`); the naive two-tower baseline (`funnel-train --model naive --delay ignore`: separate CTR and
CVR networks, CVR on clicked rows only; not exportable, so evaluated from its training state); scikit-learn
LogisticRegression and LightGBM (CTR model on all rows, CVR model on clicked rows, pCTCVR = pCTR × pCVR);
torch-rechub ESMM, MMOE, PLE and SharedBottom after 1 epoch and after the best of 1–3 epochs (chosen on a
validation split of the TRAINING data, never on the test file). On simulated worlds, a reference row (not a peer):
the simulator's true probabilities, whose PCOC shows how far the test labels alone stray from a perfect level.

Peers see only the serving fields of schema.json (groups user, context, item), never the "privileged" post-click
ones. Every figure is computed from predictions on the test file with the definitions of
Sources/Training/Evaluation/Evaluator.swift and RankingMetrics.swift (see metrics()). docs/TRAINING.md, "Quality benchmark
against peers", says how to run it and what each choice is.

usage: scripts/bench_quality.py [--preset default|sparse|large-ids|observable|sparse-delayed|divergent-tastes|long-tail ...] [--seeds 1 2 3] [--smoke] [--ali-ccp [DIR]]
                                [--peers NAME ...] [--max-epochs 3] [--out DIR] [--json FILE] [--funnel-train PATH]
Needs: scripts/quality_tools.sh (pinned torch, torch-rechub, scikit-learn, lightgbm, pandas, numpy) and
swift build -c release --scratch-path .build-quality --product funnel-train (or --funnel-train / FUNNEL_TRAIN).
"""
import argparse, contextlib, json, math, os, shutil, statistics, subprocess, sys, time

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# World presets: flags of `funnel-train simulate` (only flags that exist: see `funnel-train simulate --help`).
PRESETS = {
    "default": [],  # 400k train / 100k test impressions, 20k users, 10k items, ≈12% of clicks convert
    "sparse": ["--conversion-logit-shift=-1.6"],  # ≈3.7% of clicks convert; "=": a separate "-1.6" parses as a flag
    "large-ids": ["--users", "100000", "--items", "50000"],  # 5× the ids: ≈4 impressions per user
    # The simulator's structural presets (docs/TRAINING.md, "World structure").
    **{name: ["--preset", name] for name in ["observable", "sparse-delayed", "divergent-tastes", "long-tail"]},
}
SMOKE_ROWS = ["--train-rows", "20000", "--test-rows", "10000"]

FUNNEL = "Funnel default (exported)"  # the row the margin line compares
# A reference row, not a peer: the simulator's own probabilities (truth file: true_ctr, true_cvr) scored like a
# model. Its PCOC is the test labels' luck, the level a perfectly calibrated model would show on them.
TRUTH = "(reference) true probabilities"
PEERS = ["naive", "lr", "lightgbm", "esmm", "mmoe", "ple", "shared-bottom"]
TORCH_PEERS = {"esmm": "ESMM", "mmoe": "MMoE", "ple": "PLE", "shared-bottom": "SharedBottom"}

# torch-rechub settings the library has no usable default for: the values of its own Ali-CCP example
# (examples/ranking/run_ali_ccp_multi_task.py; expert and tower sizes in rechub_model()). The embedding size has a
# default (6·V^¼ per field), but EmbeddingLayer concatenates the fields along one axis and fails on unequal sizes,
# so the example's sizes: 16 for ESMM, 4 for the others. DataGenerator's default batch is 16 rows (22k steps per
# epoch here); the example's is 1024. Everything else is the library's default: MTLTrainer's Adam (lr 1e-3, weight
# decay 1e-5; the example overrides the decay to 1e-4) and BCE losses, MLPs with relu, BatchNorm, no dropout.
RECHUB = {"batch_size": 1024, "embed_dim": 4, "esmm_embed_dim": 16}
VALIDATION_FRACTION = 0.1  # of the training requests, for torch-rechub's epoch choice
LGB_MAX_CATEGORIES = 1000  # larger id fields go to LightGBM as numbers (see lgb_frame)
ESMM_NUMERIC_BINS = 10  # ESMM takes sparse fields only: numeric fields become training-quantile bins

COLUMNS = [  # key, header, digits
    ("ctr_auc", "CTR AUC", 4), ("ctcvr_auc", "CTCVR AUC", 4), ("cvr_auc", "CVR AUC (clicks)", 4),
    ("es_cvr_auc", "entire-space CVR AUC", 4), ("ctr_logloss", "CTR logloss", 4), ("cvr_logloss", "CVR logloss", 4),
    ("ctcvr_logloss", "CTCVR logloss", 5), ("ctr_pcoc", "CTR PCOC", 3), ("cvr_pcoc", "CVR PCOC", 3),
    ("ctcvr_pcoc", "CTCVR PCOC", 3),
]

# Ali-CCP: the groups of Sources/Training/Data/AliCCPFormat.swift (funnel-train --format ali-ccp), which has no schema
# file to read. Mirror it here when it changes.
ALI_CCP_USER = ["101", "121", "122", "124", "125", "126", "127", "128", "129", "109_14", "110_14", "127_14", "150_14"]
ALI_CCP_ITEM = ["205", "206", "207", "210", "216", "508", "509", "702", "853"]
ALI_CCP_DENSE = {"D109_14": "user", "D110_14": "user", "D127_14": "user", "D150_14": "user",
                 "D508": "item", "D509": "item", "D702": "item", "D853": "item"}


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(cmd, log_path):
    started = time.time()
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    with open(log_path, "a") as f:
        f.write("$ " + " ".join(map(str, cmd)) + "\n" + out.stdout + out.stderr)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    return time.time() - started


# ---------------------------------------------------------------------------------------------------------------
# Metrics: the definitions of Funnel's evaluator, so peer figures and Funnel's report figures are comparable.

def auc(p, y):
    """Rank AUC with tied scores given their average rank (RankingMetrics.auc); None without both classes."""
    y = np.asarray(y, dtype=bool)
    positives, n = int(y.sum()), len(y)
    if positives == 0 or positives == n:
        return None
    ranks = pd.Series(np.asarray(p, dtype=np.float32)).rank(method="average").to_numpy()
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * (n - positives)))


def task(p, y):
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        return {"rows": 0, "positives": 0, "auc": None, "logloss": None, "pcoc": None}
    q = np.clip(p, 1e-7, 1 - 1e-7)  # RankingMetrics.logLoss clamps the same way
    return {"rows": len(y), "positives": int(y.sum()), "auc": auc(p, y),
            "logloss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
            "pcoc": float(p.sum() / y.sum()) if y.sum() > 0 else None}


def metrics(ctr, cvr, ctcvr, test):
    """Evaluator.evaluate: CTR on all rows; CVR on clicked rows whose attribution window had elapsed; CTCVR
    (p_c·p_v, or the model's own pCTCVR) on unclicked or mature rows; entire-space CVR: p_v on every row against
    the truth file's counterfactual would_buy (simulated worlds only)."""
    cvr_rows = (test.click == 1) & test.mature
    ctcvr_rows = (test.click == 0) | test.mature
    report = {"ctr": task(ctr, test.click), "cvr": task(cvr[cvr_rows], test.conversion[cvr_rows]),
              "ctcvr": task(ctcvr[ctcvr_rows], test.conversion[ctcvr_rows])}
    if test.would_buy is not None:
        report["entire_space_cvr"] = task(cvr, test.would_buy)
    return flatten(report)


def flatten(report):
    """The table's figures from an evaluation report (Funnel's JSON or metrics())."""
    def get(name, key):
        return (report.get(name) or {}).get(key)
    figures = {"es_cvr_auc": get("entire_space_cvr", "auc")}
    for name in ("ctr", "cvr", "ctcvr"):
        for key in ("auc", "logloss", "pcoc", "rows", "positives"):
            figures[f"{name}_{key}"] = get(name, key)
    return figures


# ---------------------------------------------------------------------------------------------------------------
# Data: one world's training and test rows, the serving fields encoded once for every peer.

class Labels:
    """Labels and maturity of one CSV, read like TrainingRowParser (times in the schema's unit, hours here)."""

    def __init__(self, frame, schema, truth_path=None):
        labels = schema["labels"]
        self.click = frame[labels["click"]].astype(float).astype(np.int8).to_numpy()
        self.conversion = frame[labels["conversion"]].astype(float).astype(np.int8).to_numpy()
        self.requests = frame[labels["request_id"]].to_numpy() if labels.get("request_id") else None
        self.mature = np.ones(len(frame), dtype=bool)  # no snapshot column: every label is final
        if labels.get("snapshot_time"):
            per_hour = {"hours": 1, "seconds": 1 / 3600, "milliseconds": 1 / 3_600_000}[schema.get("time_unit", "hours")]
            def hours(key):
                column = labels.get(key)
                return pd.to_numeric(frame[column], errors="coerce").to_numpy() * per_hour if column else None
            snapshot, clicked_at, shown_at = hours("snapshot_time"), hours("click_time"), hours("impression_time")
            start = np.where(self.click == 1, clicked_at if clicked_at is not None else np.nan,
                             shown_at if shown_at is not None else np.nan)
            # No snapshot or no start time: elapsed = ∞, i.e. mature (as in TrainingRowParser).
            elapsed = np.where(np.isnan(start) | np.isnan(snapshot), np.inf, snapshot - start)
            window = schema.get("delay", {}).get("attribution_window_hours", 168)
            self.mature = elapsed >= window
        self.would_buy = None
        if truth_path:
            self.would_buy = pd.read_csv(truth_path)["would_buy"].to_numpy(dtype=np.int8)
            assert len(self.would_buy) == len(frame), "truth file and test file differ in rows"


class Encoded:
    """The serving fields of `frame`, encoded with vocabularies and statistics of the training rows:
    categorical → codes (0 = missing or unseen), multi-categorical → padded code lists and weights,
    numeric → the schema's transform (log1p / standardize) then standardized with training mean and std."""

    def __init__(self, frame, fields, separators, fitted=None):
        self.fields, self.count = fields, len(frame)
        # Vocabularies, means and std's (and ESMM's numeric bins) of the training rows, shared by every part.
        self.fitted = fitted if fitted is not None else {}
        self.codes, self.bags, self.dense = {}, {}, {}
        list_sep, weight_sep = separators
        for f in fields:
            cells = frame[f["column"]].fillna("").astype(str)
            if f["kind"] == "categorical":
                if fitted is None:
                    self.fitted[f["name"]] = pd.Index(pd.unique(cells[cells != ""]))
                self.codes[f["name"]] = self.fitted[f["name"]].get_indexer(cells).astype(np.int64) + 1
            elif f["kind"] == "multi_categorical":
                width = f.get("max_values", 64)
                bags = [[item.split(weight_sep) for item in cell.split(list_sep) if item][:width] for cell in cells]
                if fitted is None:
                    self.fitted[f["name"]] = pd.Index(pd.unique(pd.Series([p[0] for bag in bags for p in bag], dtype=object)))
                vocabulary = self.fitted[f["name"]]
                codes = np.zeros((len(bags), width), dtype=np.int64)
                weights = np.zeros((len(bags), width), dtype=np.float32)
                for row, bag in enumerate(bags):
                    for slot, pair in enumerate(bag):
                        codes[row, slot] = vocabulary.get_loc(pair[0]) + 1 if pair[0] in vocabulary else 0
                        weights[row, slot] = float(pair[1]) if len(pair) > 1 else 1.0
                self.bags[f["name"]] = (codes, weights)
            else:
                x = pd.to_numeric(cells.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64)
                if f.get("transform") == "log1p":
                    x = np.log1p(np.maximum(x, 0))
                elif f.get("transform") == "standardize":
                    x = (x - f["mean"]) / f["std"]
                if fitted is None:
                    mean, std = np.nanmean(x), np.nanstd(x)
                    self.fitted[f["name"]] = (mean, std if std > 0 else 1.0)
                mean, std = self.fitted[f["name"]]
                self.dense[f["name"]] = np.nan_to_num((x - mean) / std).astype(np.float32)  # missing → the mean

    def vocabulary_size(self, name):
        return len(self.fitted[name]) + 1

    def rows(self, index):
        """A row subset (numpy index) as a shallow Encoded."""
        part = Encoded.__new__(Encoded)
        part.fields, part.fitted, part.count = self.fields, self.fitted, len(index)
        part.codes = {k: v[index] for k, v in self.codes.items()}
        part.bags = {k: (c[index], w[index]) for k, (c, w) in self.bags.items()}
        part.dense = {k: v[index] for k, v in self.dense.items()}
        return part


class World:
    """Train/test CSVs and schema of one world, loaded once for every peer."""

    def __init__(self, train, test, schema, truth=None, validation=None, funnel_schema_args=None):
        self.train_path, self.test_path, self.truth_path = train, test, truth
        self.schema = schema
        self.funnel_schema_args = funnel_schema_args
        serving = [dict(f, column=schema.get("columns", {}).get(f["name"], f["name"]))
                   for f in schema["features"]["fields"] if f["group"] != "privileged"]
        separators = (schema.get("list_separator", "|"), schema.get("weight_separator", ":"))
        read = lambda path: pd.read_csv(path, dtype=str, keep_default_na=False)
        train_frame, test_frame = read(train), read(test)
        self.train_labels = Labels(train_frame, schema)
        self.train = Encoded(train_frame, serving, separators)
        self.test_labels = Labels(test_frame, schema, truth)
        self.test = Encoded(test_frame, serving, separators, self.train.fitted)
        self.fields = serving
        # Validation for torch-rechub's epoch choice: a given file (Ali-CCP's val sample), else a seeded 10% of the
        # training requests (whole requests, like Funnel's calibration hold-out), else of the training rows.
        if validation:
            frame = read(validation)
            self.validation = (Encoded(frame, serving, separators, self.train.fitted), Labels(frame, schema))
            self.fit_rows = np.arange(len(train_frame))
        else:
            self.validation = None
            keys = self.train_labels.requests if self.train_labels.requests is not None else np.arange(len(train_frame))
            codes, uniques = pd.factorize(keys)
            held = np.random.default_rng(20261203).random(len(uniques)) < VALIDATION_FRACTION
            self.fit_rows, self.validation_rows = np.flatnonzero(~held[codes]), np.flatnonzero(held[codes])

    def validation_split(self):
        """(fit Encoded, fit Labels-like, validation Encoded, validation Labels-like)."""
        fit = (self.train.rows(self.fit_rows), Subset(self.train_labels, self.fit_rows))
        if self.validation:
            return fit + self.validation
        return fit + (self.train.rows(self.validation_rows), Subset(self.train_labels, self.validation_rows))


class Subset:
    def __init__(self, labels, index):
        self.click, self.conversion = labels.click[index], labels.conversion[index]


# ---------------------------------------------------------------------------------------------------------------
# Peers: each returns test-set (pCTR, pCVR, pCTCVR) arrays, or a list of (label, predictions, extra) rows.

def one_hot(data, fields):
    """LR design matrix: one-hot categoricals (column 0 of each field = missing/unseen), multi-categorical ids as a
    bag (weights, divided by the bag size under mean pooling), standardized numeric columns."""
    n, blocks = data.count, []
    for f in fields:
        name = f["name"]
        if name in data.codes:
            size = data.vocabulary_size(name)
            blocks.append(sp.csr_matrix((np.ones(n, np.float32), (np.arange(n), data.codes[name])), shape=(n, size)))
        elif name in data.bags:
            codes, weights = data.bags[name]
            if f.get("pooling", "sum") == "mean":
                weights = weights / np.maximum((codes > 0).sum(axis=1, keepdims=True), 1)
            used = codes.ravel() > 0  # not padding (nor an id unseen in training)
            rows = np.repeat(np.arange(n), codes.shape[1])[used]
            blocks.append(sp.csr_matrix((weights.ravel()[used], (rows, codes.ravel()[used])),
                                        shape=(n, data.vocabulary_size(name))))
        else:
            blocks.append(sp.csr_matrix(data.dense[name].reshape(-1, 1)))
    matrix = sp.hstack(blocks, format="csr")
    matrix.eliminate_zeros()
    return matrix


def lgb_frame(data, fields):
    """LightGBM input: categorical codes as pandas categoricals (LightGBM's categorical_feature), except for fields
    with more than LGB_MAX_CATEGORIES ids, which LightGBM's docs (Advanced Topics) advise to give as numbers: as
    categoricals, its subset splits put every test id unseen in training with the training ids that had no click
    (measured on a 20k-row world: test CTR PCOC 0.16). Numeric values as they are; multi-categorical fields as one
    indicator column per id when the vocabulary has ≤ 256 ids, else the first id as a categorical."""
    columns = {}
    for f in fields:
        name = f["name"]
        if name in data.codes and data.vocabulary_size(name) > LGB_MAX_CATEGORIES:
            columns[name] = np.where(data.codes[name] > 0, data.codes[name], np.nan)  # unseen: missing
        elif name in data.codes:
            columns[name] = pd.Categorical(data.codes[name], categories=range(data.vocabulary_size(name)))
        elif name in data.bags:
            codes, weights = data.bags[name]
            size = data.vocabulary_size(name)
            if size <= 257:
                for code in range(1, size):
                    columns[f"{name}={code}"] = ((codes == code) * weights).sum(axis=1)
            else:
                columns[name] = pd.Categorical(codes[:, 0], categories=range(size))
        else:
            columns[name] = data.dense[name]
    return pd.DataFrame(columns)


def fit_binary(make, x, y):
    """A classifier's predict function; a constant rate when y has one class (e.g. tiny Ali-CCP samples)."""
    if len(np.unique(y)) < 2:
        rate = float(np.mean(y)) if len(y) else 0.0
        return lambda x_test: np.full(x_test.shape[0], rate)
    model = make().fit(x, y)
    return lambda x_test: model.predict_proba(x_test)[:, 1]


def two_models(make, matrix, world):
    """CTR model on all training rows, CVR model on clicked rows; pCTCVR = pCTR × pCVR."""
    labels = world.train_labels
    x_train, x_test = matrix(world.train, world.fields), matrix(world.test, world.fields)
    clicked = np.flatnonzero(labels.click == 1)
    ctr = fit_binary(make, x_train, labels.click)(x_test)
    cvr = fit_binary(make, x_train[clicked] if sp.issparse(x_train) else x_train.iloc[clicked],
                     labels.conversion[clicked])(x_test)
    return ctr, cvr, ctr * cvr


def run_lr(world, seed):
    from sklearn.linear_model import LogisticRegression
    # Library defaults (lbfgs, C = 1) except max_iter: the default 100 stops before convergence (default world,
    # 28k one-hot columns: the CTR model converges after 147 iterations).
    return two_models(lambda: LogisticRegression(max_iter=1000), one_hot, world)


def run_lightgbm(world, seed):
    import lightgbm
    # Library defaults (100 trees, 31 leaves, learning rate 0.1); seeded, quiet; one thread, like torch (see main()):
    # with two threads it took 23–43 s per seed while another job used the cores, with one 6 s.
    return two_models(lambda: lightgbm.LGBMClassifier(n_jobs=1, random_state=seed, verbose=-1), lgb_frame, world)


class Batches:
    """Shuffled mini-batches of tensors for MTLTrainer.train_one_epoch. torch-rechub's DataGenerator collates one
    row at a time (13 ms per 1024-row batch against 0.7 ms here, about as long as a training step); the trainer
    only iterates over it, so this changes nothing in the training."""

    def __init__(self, x, y, batch_size, generator):
        self.x, self.y, self.batch_size, self.generator = x, y, batch_size, generator

    def __len__(self):
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self):
        import torch
        order = torch.randperm(len(self.y), generator=self.generator)
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            if len(index) < 2:  # BatchNorm in torch-rechub's MLPs needs two rows
                break
            yield {k: v[index] for k, v in self.x.items()}, self.y[index]


def rechub_inputs(data, fields, esmm):
    """torch-rechub features and input tensors. Categorical → SparseFeature (exact vocabulary, index 0 = missing or
    unseen); multi-categorical → SequenceFeature, mean pooling over the ids (weights dropped), padding index 0;
    numeric → DenseFeature, except for ESMM, which concatenates sparse embeddings only: there numeric fields become
    SparseFeatures of ESMM_NUMERIC_BINS training-quantile bins."""
    import torch
    from torch_rechub.basic.features import DenseFeature, SequenceFeature, SparseFeature
    size = {"embed_dim": RECHUB["esmm_embed_dim" if esmm else "embed_dim"]}
    features, x = [], {}
    for f in fields:
        name = f["name"]
        if name in data.codes:
            features.append(SparseFeature(name, data.vocabulary_size(name), **size))
            x[name] = torch.from_numpy(data.codes[name])
        elif name in data.bags:
            features.append(SequenceFeature(name, data.vocabulary_size(name), pooling="mean", padding_idx=0, **size))
            x[name] = torch.from_numpy(data.bags[name][0])
        elif esmm:
            if f"{name}#bins" not in data.fitted:  # the first call gets the fit rows: bins of the training data
                data.fitted[f"{name}#bins"] = np.unique(
                    np.quantile(data.dense[name], np.linspace(0, 1, ESMM_NUMERIC_BINS + 1)[1:-1]))
            edges = data.fitted[f"{name}#bins"]
            features.append(SparseFeature(name, len(edges) + 1, **size))
            x[name] = torch.from_numpy(np.searchsorted(edges, data.dense[name], side="right").astype(np.int64))
        else:
            features.append(DenseFeature(name))
            x[name] = torch.from_numpy(data.dense[name])
    return features, x


def rechub_model(name, features, groups):
    """The model with the example's tower sizes (see RECHUB); outputs are [pCVR, pCTR, pCTCVR] for ESMM, and
    [p(purchase), pCTR] for the others, which the example trains on the purchase label of every impression."""
    from torch_rechub.models.multi_task import ESMM, MMOE, PLE, SharedBottom
    tasks = ["classification", "classification"]
    towers = [{"dims": [8]}, {"dims": [8]}]
    if name == "esmm":
        user = [f for f, g in zip(features, groups) if g != "item"]
        item = [f for f, g in zip(features, groups) if g == "item"]
        return ESMM(user, item, cvr_params={"dims": [16, 8]}, ctr_params={"dims": [16, 8]})
    if name == "mmoe":
        return MMOE(features, tasks, 8, expert_params={"dims": [16]}, tower_params_list=towers)
    if name == "ple":
        return PLE(features, tasks, n_level=1, n_expert_specific=2, n_expert_shared=1, expert_params={"dims": [16]},
                   tower_params_list=towers)
    return SharedBottom(features, tasks, bottom_params={"dims": [117]}, tower_params_list=towers)


def run_rechub(name, world, seed, max_epochs, log_path):
    """Trains on the fit part for up to max_epochs, scoring the validation part and the test file after each
    epoch; returns the epoch-1 test predictions and those of the epoch with the best validation score
    (mean of CTR AUC and CTCVR AUC, the two tasks every peer predicts on every impression)."""
    import torch
    from torch_rechub.trainers import MTLTrainer
    torch.manual_seed(seed)
    esmm = name == "esmm"
    fit, fit_labels, validation, validation_labels = world.validation_split()
    features, x_fit = rechub_inputs(fit, world.fields, esmm)
    _, x_validation = rechub_inputs(validation, world.fields, esmm)
    _, x_test = rechub_inputs(world.test, world.fields, esmm)
    click = fit_labels.click.astype(np.float32)
    purchase = fit_labels.conversion.astype(np.float32)
    # The example's label order: ESMM [cvr, ctr, ctcvr] (its loss uses ctr and ctcvr); others [purchase, click].
    y = np.stack([purchase, click, purchase * click] if esmm else [purchase, click], axis=1)
    model = rechub_model(name, features, [f["group"] for f in world.fields])
    trainer = MTLTrainer(model, task_types=["classification"] * y.shape[1], n_epoch=max_epochs, device="cpu",
                         model_path=os.path.dirname(log_path))
    batches = Batches(x_fit, torch.from_numpy(y), RECHUB["batch_size"], torch.Generator().manual_seed(seed))

    def predict(x):
        model.eval()
        with torch.no_grad():
            n = len(next(iter(x.values())))
            out = torch.cat([model({k: v[s:s + 65536] for k, v in x.items()}) for s in range(0, n, 65536)]).numpy()
        out = out.astype(np.float64)
        if esmm:
            return out[:, 1], out[:, 0], out[:, 2]
        ctr, ctcvr = out[:, 1], out[:, 0]
        # The purchase head estimates P(click ∧ buy | x) = pCTCVR, so pCVR = pCTCVR / pCTR (clipped to ≤ 1).
        return ctr, np.clip(ctcvr / np.maximum(ctr, 1e-7), 0, 1), ctcvr

    snapshots, scores = [], []
    with open(log_path, "a") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        for epoch in range(1, max_epochs + 1):
            trainer.train_one_epoch(batches)
            ctr, _, ctcvr = predict(x_validation)
            score = [auc(ctr, validation_labels.click), auc(ctcvr, validation_labels.conversion)]
            scores.append(statistics.fmean(s for s in score if s is not None) if any(s is not None for s in score) else -1)
            snapshots.append(predict(x_test))
            print(f"{name} epoch {epoch}: validation CTR AUC {score[0]}, CTCVR AUC {score[1]}")
    best = int(np.argmax(scores))
    rows = [("1 epoch", snapshots[0], {"epochs": 1, "validation_scores": scores})]
    if max_epochs > 1:
        rows.append((f"best of 1–{max_epochs}", snapshots[best], {"epochs": best + 1, "validation_scores": scores}))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Funnel.

def run_funnel(binary, world, directory, name, flags, seed, exportable):
    """Trains with funnel-train; evaluates the exported checkpoint (or, for the non-exportable naive model, the
    training state) on the test file; returns the report's figures."""
    log_path, state, report = f"{directory}/{name}.log", f"{directory}/{name}.ftrain", f"{directory}/{name}.report.json"
    schema = world.funnel_schema_args
    seconds = run([binary, "train", "--data", world.train_path, *schema, *flags, "--seed", seed, "--state", state], log_path)
    truth = ["--truth", world.truth_path] if world.truth_path else []
    if exportable:
        models = f"{directory}/{name}-models"
        shutil.rmtree(models, ignore_errors=True)
        run([binary, "export", "--state", state, "--models", models, "--name", "funnel-student", "--model-version", 1,
             "--sample", world.train_path], log_path)
        source = ["--checkpoint", f"{models}/funnel-student/1/model.fckpt"]
    else:
        source = ["--state", state]
    run([binary, "evaluate", *source, *schema, "--data", world.test_path, *truth, "--report", report], log_path)
    with open(report) as f:
        figures = flatten(json.load(f))
    figures["train_seconds"] = seconds
    return figures


# ---------------------------------------------------------------------------------------------------------------

def benchmark_seed(world, run_dir, seed, peers, max_epochs, binary):
    """{row label: figures} of every model on one world and seed."""
    os.makedirs(run_dir, exist_ok=True)
    results = {}

    def record(label, figures, started):
        figures["seconds"] = round(time.time() - started, 1)
        results[label] = figures
        shown = " ".join(f"{k} {figures[k]:.4f}" for k, _, _ in COLUMNS[:4] if figures.get(k) is not None)
        log(f"  seed {seed} {label:32s} {shown} ({figures['seconds']} s)")

    for label, name, flags, exportable in [
        (FUNNEL, "funnel-default", [], True),
        ("Funnel esmm (exported)", "funnel-esmm", ["--model", "esmm"], True),
        ("naive two-tower", "naive", ["--model", "naive", "--delay", "ignore"], False),
    ]:
        if name == "naive" and "naive" not in peers:
            continue
        started = time.time()
        record(label, run_funnel(binary, world, run_dir, name, flags, seed, exportable), started)
    if world.truth_path:
        truth = pd.read_csv(world.truth_path)
        ctr, cvr = truth["true_ctr"].to_numpy(np.float64), truth["true_cvr"].to_numpy(np.float64)
        record(TRUTH, metrics(ctr, cvr, ctr * cvr, world.test_labels), time.time())
    for name, label, runner in [("lr", "LogisticRegression", run_lr), ("lightgbm", "LightGBM", run_lightgbm)]:
        if name in peers:
            started = time.time()
            record(label, metrics(*runner(world, seed), world.test_labels), started)
    for name, title in TORCH_PEERS.items():
        if name in peers:
            started = time.time()  # one training run gives both rows, so both show its time
            for suffix, predictions, extra in run_rechub(name, world, seed, max_epochs, f"{run_dir}/{name}.log"):
                record(f"rechub {title}, {suffix}", {**metrics(*predictions, world.test_labels), **extra}, started)
    check_rows(results)
    return results


def check_rows(results):
    """Peers and Funnel must be scored on the same rows: compare every row's task sizes with Funnel's report."""
    reference = results[FUNNEL]
    for label, figures in results.items():
        for key in ("ctr_rows", "cvr_rows", "ctcvr_rows", "ctr_positives", "cvr_positives", "ctcvr_positives"):
            if figures.get(key) != reference.get(key):
                sys.exit(f"{label}: {key} = {figures.get(key)}, Funnel's evaluator has {reference.get(key)}")


def table(results, seeds, title):
    """Markdown: mean ± spread (half the max − min range over seeds) per row, then Funnel's margin over the best
    peer per column (Funnel default minus the best peer: AUC higher is better, log loss lower is better, PCOC is
    compared as |PCOC − 1|, lower is better)."""
    def values(label, key):
        return [r[key] for r in results[label].values() if r.get(key) is not None]

    def cell(label, key, digits):
        v = values(label, key)
        if not v:
            return "–"
        spread = (max(v) - min(v)) / 2
        return f"{statistics.fmean(v):.{digits}f}" + (f" ± {spread:.{digits}f}" if len(v) > 1 else "")

    lines = [f"### {title}", "",
             "| model | " + " | ".join(h for _, h, _ in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for label in results:
        lines.append(f"| {label} | " + " | ".join(cell(label, k, d) for k, _, d in COLUMNS) + " |")
    peers = [label for label in results if not label.startswith("Funnel") and label != TRUTH]
    margins, best_names = [], []
    for key, _, digits in COLUMNS:
        means = {label: statistics.fmean(values(label, key)) for label in peers if values(label, key)}
        own = values(FUNNEL, key)
        if not means or not own:
            margins.append("–"), best_names.append("–")
            continue
        own = statistics.fmean(own)
        if key.endswith("_auc"):
            best = max(means, key=means.get); margin = own - means[best]
        elif key.endswith("_logloss"):
            best = min(means, key=means.get); margin = own - means[best]
        else:
            best = min(means, key=lambda label: abs(means[label] - 1)); margin = abs(own - 1) - abs(means[best] - 1)
        margins.append(f"{margin:+.{digits}f}"), best_names.append(best)
    lines.append("| **Funnel margin over best peer** | " + " | ".join(margins) + " |")
    lines.append("| (best peer) | " + " | ".join(best_names) + " |")
    chosen = {label: [r["epochs"] for r in results[label].values()] for label in results if "best of" in label}
    notes = [f"{len(seeds)} seed(s) ({', '.join(map(str, seeds))}); mean ± half the max − min range.",
             "Margin: Funnel default minus the best peer (by mean); AUC: > 0 = Funnel ahead; log loss and "
             "|PCOC − 1|: < 0 = Funnel ahead."]
    if TRUTH in results:
        notes.append(f"{TRUTH}: the simulator's own pCTR and pCVR scored as a model (not a peer); its PCOC is what "
                     "the test labels' luck alone gives a perfectly calibrated model.")
    if chosen:
        notes.append("Epochs chosen on the validation split, per seed: "
                     + "; ".join(f"{label.split(',')[0]} {v}" for label, v in chosen.items()) + ".")
    return "\n".join(lines + [""] + notes)


def simulated_world(binary, directory, preset_flags, seed):
    run([binary, "simulate", "-o", directory, "--seed", seed, *preset_flags], f"{directory}.simulate.log")
    with open(f"{directory}/schema.json") as f:
        schema = json.load(f)
    return World(f"{directory}/train.csv", f"{directory}/test.csv", schema, truth=f"{directory}/test_truth.csv",
                 funnel_schema_args=["--schema", f"{directory}/schema.json"])


def ali_ccp_world(directory):
    def path(part):
        for name in (f"ali_ccp_{part}_sample.csv", f"ali_ccp_{part}.csv"):
            if os.path.exists(f"{directory}/{name}"):
                return f"{directory}/{name}"
        sys.exit(f"no ali_ccp_{part}[_sample].csv in {directory}")
    fields = ([{"name": n, "group": "user", "kind": "categorical"} for n in ALI_CCP_USER]
              + [{"name": "301", "group": "context", "kind": "categorical"}]
              + [{"name": n, "group": "item", "kind": "categorical"} for n in ALI_CCP_ITEM]
              + [{"name": n, "group": g, "kind": "numeric"} for n, g in ALI_CCP_DENSE.items()])
    schema = {"features": {"fields": fields}, "labels": {"click": "click", "conversion": "purchase"}}
    return World(path("train"), path("test"), schema, validation=path("val"), funnel_schema_args=["--format", "ali-ccp"])


def versions():
    import importlib.metadata as metadata
    found = {}
    for package in ("torch", "torch-rechub", "scikit-learn", "lightgbm", "pandas", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", nargs="+", default=["default"], choices=sorted(PRESETS), help="simulated worlds (one table each)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="world and training seeds (report: 1 2 3)")
    ap.add_argument("--smoke", action="store_true", help="tiny world (20k/10k rows), seed 1, 1 epoch (< 1 min)")
    ap.add_argument("--ali-ccp", nargs="?", const=os.path.join(ROOT, "..", "shared", "data", "ali-ccp-sample"),
                    metavar="DIR", help="the Ali-CCP CSVs instead of simulated worlds (default: ../shared/data/ali-ccp-sample)")
    ap.add_argument("--peers", nargs="+", choices=PEERS, default=None, help=f"subset of peers (default: all: {' '.join(PEERS)})")
    ap.add_argument("--max-epochs", type=int, default=None, help="torch-rechub epochs to choose from (default 3; smoke 1)")
    ap.add_argument("--out", default="/tmp/funnel-quality", help="work directory (worlds, logs, states)")
    ap.add_argument("--json", default=None, help="write every per-seed figure here (default: OUT/results.json)")
    ap.add_argument("--funnel-train", default=os.environ.get("FUNNEL_TRAIN", os.path.join(ROOT, ".build-quality/release/funnel-train")))
    args = ap.parse_args()
    if not os.path.exists(args.funnel_train):
        sys.exit(f"{args.funnel_train} not found: swift build -c release --scratch-path .build-quality --product funnel-train")
    seeds = [1] if args.smoke and args.seeds == [1, 2, 3] else args.seeds
    peers = args.peers or PEERS
    max_epochs = args.max_epochs or (1 if args.smoke else 3)
    binary = os.path.abspath(args.funnel_train)
    os.makedirs(args.out, exist_ok=True)
    import torch
    # One thread: these models are too small to gain from two (ESMM: 0.46 s per 60 steps with one, 0.54 s with two),
    # and two threads slowed ESMM ≈ 20× while another job used the cores (OpenMP workers wait on each other).
    torch.set_num_threads(1)  # funnel-train still uses both cores
    # Dense Adam decays untouched embedding rows' moments into subnormals, ≈10× slower on x86 (scripts/bench_train.py).
    torch.set_flush_denormal(True)

    started = time.time()
    output = {"versions": versions(), "seeds": seeds, "peers": peers, "max_epochs": max_epochs, "rechub": RECHUB,
              "smoke": args.smoke, "worlds": {}}
    tables = []
    if args.ali_ccp:
        worlds = [("ali-ccp", args.ali_ccp, None)]
    else:
        worlds = [(p, None, PRESETS[p] + (SMOKE_ROWS if args.smoke else [])) for p in args.preset]
    for name, ali_dir, flags in worlds:
        described = f"{name} ({ali_dir})" if ali_dir else f"{name} (simulate {' '.join(flags) or 'with its defaults'})"
        log(f"world {described}")
        world_started = time.time()
        results = {}
        for seed in seeds:
            # A simulated world per seed (data seed = training seed, as in train_experiments.py); Ali-CCP has one file.
            world = (ali_ccp_world(ali_dir) if ali_dir
                     else simulated_world(binary, f"{args.out}/{name}-seed{seed}", flags, seed))
            for label, figures in benchmark_seed(world, f"{args.out}/{name}-run{seed}", seed, peers, max_epochs, binary).items():
                results.setdefault(label, {})[seed] = figures
        seconds = time.time() - world_started
        tables.append(table(results, seeds, f"{described}: {seconds:.0f} s"))
        output["worlds"][name] = {"simulate_flags": flags, "seconds": round(seconds, 1),
                                  "rows": {label: {str(s): r for s, r in v.items()} for label, v in results.items()}}
    output["seconds"] = round(time.time() - started, 1)
    print("\n\n".join(tables))
    print(f"\ntotal {output['seconds']:.0f} s; torch {torch.__version__}, torch-rechub {output['versions']['torch-rechub']}, "
          f"scikit-learn {output['versions']['scikit-learn']}, lightgbm {output['versions']['lightgbm']}")
    json_path = args.json or f"{args.out}/results.json"
    with open(json_path, "w") as f:
        json.dump(output, f, indent=1)
    log(f"wrote {json_path}")


if __name__ == "__main__":
    main()
