#!/usr/bin/env python3
"""CPU scoring, side by side: our `forest` against scikit-learn, ONNX Runtime, LightGBM and XGBoost.

The task: 100k training rows of make_classification (32 features, 16 informative, seed 0: the
rows the GPU anchors use), 200 trees of depth 12, then 100k other rows of the same draw scored
by each tool on the same number of threads. Medians of --runs timed runs after a warm-up.
- scikit-learn RandomForestClassifier.predict_proba;
- ONNX Runtime on that same forest (skl2onnx, no ZipMap);
- ours on that same forest (written in our model format, scored by `forest bench --rows`);
- LightGBM (boosting_type="rf") and XGBoost (XGBRFClassifier): the same task and settings, but
  their own forests, so their figures are for the task, not for the same trees.
Our outputs are checked against scikit-learn's (argmax, largest difference: sklearn averages in
float64, we in float32). Prints a Markdown table.

Needs: pip install scikit-learn onnxruntime skl2onnx lightgbm xgboost
Usage: python3 scripts/peer_bench.py [--threads N] [--runs 5] [--rows 100000] [--forest PATH]
"""
import argparse, datetime, json, os, platform, statistics, subprocess, sys, tempfile, time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_FEAT, N_TRAIN, TREES, DEPTH = 32, 100_000, 200, 12


def median_ms(f, runs):
    f()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def f32_at_most(t):
    """The largest f32 <= t: for f32 inputs, x <= t (float64) iff x <= this."""
    v = np.float32(t)
    return float(np.nextafter(v, np.float32(-np.inf)) if v > t else v)


def to_model(rf):
    """A fitted binary RandomForestClassifier as our model file (format version 2)."""
    roots, thr, far, feat, ml = [], [], [], [], []
    for est in rf.estimators_:
        tr = est.tree_
        roots.append(len(thr))
        stack = [(0, None)]
        while stack:
            node, parent = stack.pop()
            if parent is not None:
                far[parent] = len(thr) - parent
            at = len(thr)
            if tr.children_left[node] == -1:
                v = tr.value[node][0]
                thr.append(float(np.float32(v[1] / v.sum())))
                far.append(0), feat.append(0), ml.append(0)
            else:
                thr.append(f32_at_most(tr.threshold[node]))
                far.append(0), feat.append(int(tr.feature[node])), ml.append(0)
                stack.append((tr.children_right[node], at))
                stack.append((tr.children_left[node], None))
    names = [f"f{i}" for i in range(N_FEAT)]
    return {
        "format": "gpuforest-model", "version": 2,
        "schema": {"target": "label", "task": "classification",
                   "features": [{"name": n, "kind": "numeric"} for n in names],
                   "classes": [str(c) for c in rf.classes_]},
        "params": {"n_trees": TREES, "max_depth": DEPTH, "max_features": None,
                   "min_samples_split": 2, "min_samples_leaf": 1, "bootstrap": True,
                   "criterion": None, "seed": 0, "max_bins": 255},
        "forest": {"n_features": N_FEAT, "n_outputs": 2, "roots": roots, "threshold": thr,
                   "far": far, "feature": feat, "missing_left": ml, "leaf_values": []},
        "importances": [float(v) for v in rf.feature_importances_],
        "oob_score": None, "train_rows": N_TRAIN,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--forest", default=os.path.join(ROOT, "target", "release", "forest"))
    ap.add_argument("--keep", help="also write the model and the rows to this folder")
    a = ap.parse_args()
    n = a.threads

    X, y = make_classification(n_samples=N_TRAIN + a.rows, n_features=N_FEAT,
                               n_informative=N_FEAT // 2, n_classes=2, random_state=0)
    X = X.astype(np.float32)
    Xtr, ytr, Q = X[:N_TRAIN], y[:N_TRAIN], np.ascontiguousarray(X[N_TRAIN:])
    results = []  # (tool, forest, ms)

    rf = RandomForestClassifier(n_estimators=TREES, max_depth=DEPTH, n_jobs=n, random_state=0)
    rf.fit(Xtr, ytr)
    sk = rf.predict_proba(Q)
    results.append(("scikit-learn predict_proba", "scikit-learn's",
                    median_ms(lambda: rf.predict_proba(Q), a.runs)))

    import onnxruntime as ort
    from skl2onnx import to_onnx
    onx = to_onnx(rf, Q[:1], options={id(rf): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = n, 1
    sess = ort.InferenceSession(onx.SerializeToString(), so, providers=["CPUExecutionProvider"])
    out = sess.get_outputs()[1].name
    results.append((f"ONNX Runtime {ort.__version__} (skl2onnx)", "scikit-learn's",
                    median_ms(lambda: sess.run([out], {sess.get_inputs()[0].name: Q}), a.runs)))

    with tempfile.TemporaryDirectory() as tmp:
        if a.keep:
            os.makedirs(a.keep, exist_ok=True)
        model = os.path.join(a.keep or tmp, "model.json")
        rows = os.path.join(a.keep or tmp, "rows.csv")
        with open(model, "w") as f:
            json.dump(to_model(rf), f)
        with open(rows, "w") as f:
            f.write(",".join(f"f{i}" for i in range(N_FEAT)) + "\n")
            np.savetxt(f, Q, fmt="%.9g", delimiter=",")  # %.9g round-trips every f32
        env = dict(os.environ, RAYON_NUM_THREADS=str(n))
        cmd = [a.forest, "bench", "--model", model, "--rows", rows, "--cpu-only", "--json",
               "--runs", str(a.runs)]
        lines = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        ours = [json.loads(l) for l in lines.splitlines() if l.startswith("{")]
        pred = os.path.join(tmp, "pred.csv")
        subprocess.run([a.forest, "predict", "--model", model, "--csv", rows, "--device", "cpu",
                        "--out", pred], env=env, check=True, capture_output=True)
        with open(pred) as f:  # columns: row, prediction, proba_<class 0>, proba_<class 1>
            p1_col = len(f.readline().split(",")) - 1
        p1 = np.loadtxt(pred, delimiter=",", skiprows=1, usecols=p1_col, dtype=np.float64)
    for r in ours:
        results.append((f"ours, {r['threads']} thread{'s' if r['threads'] > 1 else ''}",
                        "scikit-learn's", r["end_to_end_ms"]))
    agree = float(np.mean((p1 > 0.5) == (sk[:, 1] > 0.5)))
    diff = float(np.max(np.abs(p1 - sk[:, 1])))

    import lightgbm as lgb
    lg = lgb.LGBMClassifier(boosting_type="rf", n_estimators=TREES, max_depth=DEPTH,
                            num_leaves=2 ** DEPTH, bagging_fraction=0.632, bagging_freq=1,
                            feature_fraction=np.sqrt(N_FEAT) / N_FEAT, n_jobs=n, verbose=-1)
    lg.fit(Xtr, ytr)
    results.append((f"LightGBM {lgb.__version__} (rf)", "its own",
                    median_ms(lambda: lg.predict_proba(Q, num_threads=n), a.runs)))

    import xgboost as xgb
    xg = xgb.XGBRFClassifier(n_estimators=TREES, max_depth=DEPTH, subsample=0.632,
                             colsample_bynode=np.sqrt(N_FEAT) / N_FEAT, n_jobs=n, tree_method="hist")
    xg.fit(Xtr, ytr)
    results.append((f"XGBoost {xgb.__version__} (XGBRFClassifier)", "its own",
                    median_ms(lambda: xg.predict_proba(Q), a.runs)))

    best = min(ms for tool, _, ms in results if tool.startswith("ours") and f"{n} thread" in tool)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"{a.rows:,} rows x {N_FEAT} features, {TREES} trees of depth {DEPTH}; {cpu}, "
          f"{os.cpu_count()} logical CPUs; {n} threads for every tool; medians of {a.runs} runs; "
          f"{datetime.date.today()}; `python3 scripts/peer_bench.py --threads {n}`")
    print(f"Ours against scikit-learn's predict_proba: same argmax on {agree:.2%} of rows, "
          f"largest difference {diff:.1e}.\n")
    print("| scorer | forest | threads | ms | ours (all threads) is faster by |")
    print("|---|---|---:|---:|---:|")
    for tool, forest, ms in results:
        threads = 1 if tool.endswith("1 thread") else n
        print(f"| {tool} | {forest} | {threads} | {ms:,.1f} | {ms / best:.1f}x |")


if __name__ == "__main__":
    sys.exit(main())
