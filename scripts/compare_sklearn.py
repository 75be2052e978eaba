#!/usr/bin/env python3
"""Compare `forest train` with scikit-learn's RandomForest on the same CSV files and protocol.

Protocol for both: shuffle the rows with the seed, hold out 25%, train on the rest with the
same hyper-parameters, score the held-out rows (accuracy or R²). Repeated over several seeds.
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


def sklearn_run(X, y, task, seed, trees, depth):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, shuffle=True)
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


def ours_run(path, target, seed, trees, depth):
    cmd = [FOREST, "train", "--csv", path, "--target", target, "--seed", str(seed),
           "--trees", str(trees), "--json"]
    if depth:
        cmd += ["--max-depth", str(depth)]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    score = out.get("test_accuracy", out.get("test_r2"))
    return score, out["train_seconds"], out["task"]


def compare(name, path, target, seeds, trees, depth):
    X, y = load(path, target)
    ours, theirs, t_ours, t_theirs = [], [], [], []
    for s in range(seeds):
        sc, secs, task = ours_run(path, target, s, trees, depth)
        ours.append(sc); t_ours.append(secs)
        sc, secs = sklearn_run(X, y, task, s, trees, depth)
        theirs.append(sc); t_theirs.append(secs)
    metric = "accuracy" if task == "classification" else "R²"
    fmt = lambda v: f"{statistics.mean(v):.4f} ± {statistics.stdev(v) if len(v) > 1 else 0:.4f}"
    print(f"| {name} | {trees} trees, depth {depth or 'none'} | {metric} | {fmt(ours)} | {fmt(theirs)} "
          f"| {statistics.median(t_ours):.2f} s | {statistics.median(t_theirs):.2f} s "
          f"| {statistics.median(t_theirs) / statistics.median(t_ours):.1f}x |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--big", action="store_true", help="add the 100k x 32 training benchmark")
    ap.add_argument("--big-seeds", type=int, default=2)
    a = ap.parse_args()
    if not os.path.exists(FOREST):
        sys.exit("build first: cargo build --release")
    print("| data | forest | metric | forest (ours) | scikit-learn | train (ours) | train (sklearn) | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
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
