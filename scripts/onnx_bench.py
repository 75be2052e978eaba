#!/usr/bin/env python3
"""The same ONNX forests scored by ONNX Runtime (CPU) and by `forest` (CPU and GPU), on the
same rows and threads: medians of timed runs after a warm-up.

Two steps, so that the GPU machine (no network, no scikit-learn) needs only numpy and an
onnxruntime wheel:

  make DIR   needs scikit-learn skl2onnx onnxmltools xgboost lightgbm onnxruntime
             Trains on 100k rows of make_classification (32 features, 16 informative, seed 0):
             a scikit-learn random forest (200 trees, depth 12), XGBoost (200 trees, depth 8)
             and LightGBM (200 trees, 255 leaves); writes DIR/{rf,xgb,lgb}.onnx and 100k other
             rows of the same draw, DIR/rows.npy.
  run DIR    needs numpy onnxruntime, and target/release/forest (or --forest)
             [--tile K] scores the rows repeated K times; [--threads N]; [--runs R];
             [--cpu-only] skips the GPU (a software adapter's figures mean nothing).

Our outputs are checked against ONNX Runtime's on every row (largest difference). Prints a
Markdown table.
"""
import argparse, datetime, json, os, platform, subprocess, sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_bench import median_ms  # one timing rule for both reference scripts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_FEAT, N_TRAIN, N_ROWS = 32, 100_000, 100_000


def make(d):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from skl2onnx import to_onnx
    import lightgbm as lgb
    import xgboost as xgb
    from onnxmltools import convert_lightgbm, convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    os.makedirs(d, exist_ok=True)
    X, y = make_classification(n_samples=N_TRAIN + N_ROWS, n_features=N_FEAT,
                               n_informative=N_FEAT // 2, n_classes=2, random_state=0)
    X = X.astype(np.float32)
    Xtr, ytr = X[:N_TRAIN], y[:N_TRAIN]
    np.save(os.path.join(d, "rows.npy"), np.ascontiguousarray(X[N_TRAIN:]))
    types = [("input", FloatTensorType([None, N_FEAT]))]
    rf = RandomForestClassifier(n_estimators=200, max_depth=12, n_jobs=-1, random_state=0).fit(Xtr, ytr)
    onx = to_onnx(rf, Xtr[:1], options={id(rf): {"zipmap": False}},
                  target_opset={"": 17, "ai.onnx.ml": 3})
    open(os.path.join(d, "rf.onnx"), "wb").write(onx.SerializeToString())
    xm = xgb.XGBClassifier(n_estimators=200, max_depth=8, tree_method="hist", random_state=0).fit(Xtr, ytr)
    open(os.path.join(d, "xgb.onnx"), "wb").write(
        convert_xgboost(xm, initial_types=types, target_opset=15).SerializeToString())
    lm = lgb.LGBMClassifier(n_estimators=200, num_leaves=255, verbose=-1, random_state=0).fit(Xtr, ytr)
    open(os.path.join(d, "lgb.onnx"), "wb").write(
        convert_lightgbm(lm, initial_types=types, target_opset=15, zipmap=False).SerializeToString())
    for f in sorted(os.listdir(d)):
        print(f, os.path.getsize(os.path.join(d, f)))



def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def run(a):
    import onnxruntime as ort

    q = np.load(os.path.join(a.dir, "rows.npy"))
    q = np.ascontiguousarray(np.tile(q, (a.tile, 1)))
    n = len(q)
    csv = os.path.join(a.dir, f"rows_{n}.csv")
    if not os.path.exists(csv):
        with open(csv, "w") as f:
            f.write(",".join(f"f{i}" for i in range(N_FEAT)) + "\n")
            np.savetxt(f, q, fmt="%.9g", delimiter=",")  # %.9g round-trips every f32
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    adapter = "none"
    lines = []
    for name in ["rf", "xgb", "lgb"]:
        path = os.path.join(a.dir, f"{name}.onnx")
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = a.threads, 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        inp, out = sess.get_inputs()[0].name, sess.get_outputs()[1].name
        theirs = np.asarray(sess.run([out], {inp: q})[0], dtype=np.float32)
        ort_ms = median_ms(lambda: sess.run([out], {inp: q}), a.runs)
        cmd = [a.forest, "bench", "--model", path, "--rows", csv, "--json", "--runs", str(a.runs),
               "--single-core-max", str(n), "--no-variants"]
        if a.cpu_only:
            cmd.append("--cpu-only")
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{res.stderr}")
        ours = [json.loads(l) for l in res.stdout.splitlines() if l.startswith("{")]
        for l in res.stderr.splitlines():
            if l.startswith("adapter"):
                adapter = l.split(None, 1)[1]
        pred = os.path.join(a.dir, "pred.csv")
        subprocess.run([a.forest, "predict", "--model", path, "--csv", csv, "--out", pred],
                       env=env, check=True, capture_output=True)
        mine = np.loadtxt(pred, delimiter=",", skiprows=1, usecols=(2, 3), dtype=np.float32)
        diff = float(np.max(np.abs(mine - theirs)))
        by = {r["scorer"]: r for r in ours if "scorer" in r}
        lines.append((name, ort_ms, by, diff))
    print(f"{n:,} rows x {N_FEAT} features; {cpu_name()}, {os.cpu_count()} logical CPUs; "
          f"{a.threads} threads for ONNX Runtime {ort.__version__} and ours; GPU: {adapter}; "
          f"medians of {a.runs} runs; {datetime.date.today()}; "
          f"`python3 scripts/onnx_bench.py run DIR --tile {a.tile} --threads {a.threads}"
          f"{' --cpu-only' if a.cpu_only else ''}`\n")
    print("| forest (ONNX) | ONNX Runtime ms | ours CPU ms | ours CPU, 1 thread, ms | ours GPU end to end ms | ours GPU, rows resident, ms | largest difference from ONNX Runtime |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, ort_ms, by, diff in lines:
        def f(key):
            r = by.get(key)
            return f"{r['end_to_end_ms']:,.1f}" if r and r.get("end_to_end_ms") is not None else "n/a"
        many = f"cpu {a.threads} threads" if a.threads > 1 else "cpu 1 thread"
        print(f"| {name} | {ort_ms:,.1f} | {f(many)} | {f('cpu 1 thread')} | {f('gpu')} | "
              f"{f('gpu resident')} | {diff:.1e} |")
    if a.raw:
        for name, _, by, _ in lines:
            for r in by.values():
                print(name, json.dumps(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--tile", type=int, default=1)
    r.add_argument("--threads", type=int, default=os.cpu_count())
    r.add_argument("--runs", type=int, default=5)
    r.add_argument("--cpu-only", action="store_true")
    r.add_argument("--raw", action="store_true", help="also print our bench's JSON lines")
    r.add_argument("--forest", default=os.path.join(ROOT, "target", "release", "forest"))
    a = ap.parse_args()
    make(a.dir) if a.cmd == "make" else run(a)


if __name__ == "__main__":
    sys.exit(main())
