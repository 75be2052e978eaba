#!/usr/bin/env python3
"""Compare `forest train` with scikit-learn's RandomForest, paired: the same rows, the same split.

For each seed, scikit-learn's `train_test_split` holds out 25% of the rows. Both forests train on
the same training rows with the same hyper-parameters (ours: `forest train --test-fraction 0` on
a CSV of exactly those rows), and both are scored on the same held-out rows (ours through
`forest predict`). The table gives each side's mean ± standard deviation over the seeds and the
mean of the per-seed differences, so split luck cancels out of the comparison.
Usage: python3 scripts/compare_sklearn.py [--seeds 5] [--big]   (needs scikit-learn, pandas-free)
"""
import argparse, csv, json, os, statistics, subprocess, sys, tempfile, time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOREST = os.path.join(ROOT, "target", "release", "forest")


def load(path, target):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    t = header.index(target)
    X = np.array([[float(v) for i, v in enumerate(r) if i != t] for r in rows])
    y = [r[t] for r in rows]
    return X, y


def sklearn_run(Xtr, ytr, Xte, yte, task, seed, trees, depth):
    if task == "classification":
        m = RandomForestClassifier(n_estimators=trees, max_depth=depth, n_jobs=-1, random_state=seed)
    else:
        ytr, yte = np.array(ytr, float), np.array(yte, float)
        m = RandomForestRegressor(n_estimators=trees, max_depth=depth, n_jobs=-1, random_state=seed)
    t0 = time.perf_counter()
    m.fit(Xtr, ytr)
    secs = time.perf_counter() - t0
    p = m.predict(Xte)
    score = accuracy_score(yte, p) if task == "classification" else r2_score(yte, p)
    return score, secs


def ours_run(header, rows, tr, te, target, seed, trees, depth, tmp):
    """Trains on rows `tr` and scores rows `te`, as scikit-learn does on its side."""
    train_csv, test_csv = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
    for path, idx in ((train_csv, tr), (test_csv, te)):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows[i] for i in idx)
    model, preds = os.path.join(tmp, "model.json"), os.path.join(tmp, "preds.csv")
    cmd = [FOREST, "train", "--csv", train_csv, "--target", target, "--seed", str(seed),
           "--trees", str(trees), "--test-fraction", "0", "--model-out", model, "--json"]
    if depth:
        cmd += ["--max-depth", str(depth)]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    subprocess.run([FOREST, "predict", "--model", model, "--csv", test_csv, "--out", preds],
                   check=True, capture_output=True)
    with open(preds, newline="") as f:
        out_rows = list(csv.reader(f))
    k = out_rows[0].index("prediction")
    p = [r[k] for r in out_rows[1:]]
    t = header.index(target)
    truth = [rows[i][t] for i in te]
    if out["task"] == "classification":
        score = accuracy_score(truth, p)
    else:
        score = r2_score(np.array(truth, float), np.array(p, float))
    return score, out["train_seconds"], out["task"]


def compare(name, path, target, seeds, trees, depth):
    with open(path, newline="") as f:
        table = list(csv.reader(f))
    header, rows = table[0], table[1:]
    X, y = load(path, target)
    ours, theirs, t_ours, t_theirs = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(seeds):
            tr, te = train_test_split(np.arange(len(rows)), test_size=0.25, random_state=s, shuffle=True)
            sc, secs, task = ours_run(header, rows, tr, te, target, s, trees, depth, tmp)
            ours.append(sc); t_ours.append(secs)
            sc, secs = sklearn_run(X[tr], [y[i] for i in tr], X[te], [y[i] for i in te], task, s, trees, depth)
            theirs.append(sc); t_theirs.append(secs)
    metric = "accuracy" if task == "classification" else "R²"
    fmt = lambda v: f"{statistics.mean(v):.4f} ± {statistics.stdev(v) if len(v) > 1 else 0:.4f}"
    diff = [a - b for a, b in zip(ours, theirs)]
    print(f"| {name} | {trees} trees, depth {depth or 'none'} | {metric} | {fmt(ours)} | {fmt(theirs)} "
          f"| {fmt(diff)} | {statistics.median(t_ours):.2f} s | {statistics.median(t_theirs):.2f} s "
          f"| {statistics.median(t_theirs) / statistics.median(t_ours):.1f}x |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--big", action="store_true", help="add the 100k x 32 training benchmark")
    ap.add_argument("--big-seeds", type=int, default=2)
    a = ap.parse_args()
    if not os.path.exists(FOREST):
        sys.exit("build first: cargo build --release")
    print("| data | forest | metric | forest (ours) | scikit-learn | ours − sklearn, paired | train (ours) | train (sklearn) | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    ds = os.path.join(ROOT, "assets")
    compare("breast_cancer (569 x 30)", f"{ds}/breast_cancer.csv", "diagnosis", a.seeds, 100, None)
    compare("diabetes (442 x 10)", f"{ds}/diabetes.csv", "progression", a.seeds, 100, None)
    with tempfile.TemporaryDirectory() as tmp:
        X, y = make_classification(n_samples=5000, n_features=20, n_informative=8, n_classes=4,
                                   random_state=0)
        p = os.path.join(tmp, "multi.csv")
        write(p, X, y)
        compare("make_classification (5k x 20, 4 classes)", p, "target", a.seeds, 100, None)
        if a.big:
            X, y = make_classification(n_samples=100_000, n_features=32, n_informative=16,
                                       random_state=0)
            p = os.path.join(tmp, "big.csv")
            write(p, X, y)
            compare("make_classification (100k x 32)", p, "target", a.big_seeds, 200, 12)


def write(path, X, y):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"f{i}" for i in range(X.shape[1])] + ["target"])
        for row, t in zip(X, y):
            w.writerow([repr(float(v)) for v in row] + [int(t)])


if __name__ == "__main__":
    main()
