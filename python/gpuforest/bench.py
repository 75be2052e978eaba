"""The race from Python: one scikit-learn forest and the same rows, scored by this package (CPU
and GPU, end to end and with the rows resident on the GPU), scikit-learn, ONNX Runtime, and
RAPIDS nvForest or cuML's FIL when they are installed (a line says which were not).

    python -m gpuforest.bench                       # 200 trees, depth 12, 100k x 32 rows
    python -m gpuforest.bench --sizes 1,1000,1000000 --jsonl out.jsonl
    python -m gpuforest.bench --forest-bin target/release/forest   # and `forest bench` itself
    python -m gpuforest.bench --explain --sizes 100,1000,10000     # SHAP values, against shap

Every figure is the median of `--runs` timed calls after one untimed one, end to end from a
host array to a host array unless said; thread counts and the device are named beside it.
`run()` returns the records that the table is made of.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import _engine, from_sklearn

DEFAULT_SIZES = (1, 100, 1000, 10_000, 100_000, 1_000_000)


def _median(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _runs_for(n, runs):
    return max(3, runs // 2) if n >= 100_000 else runs


def _forest(trees, depth, features, train_rows, rows):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(
        n_samples=train_rows + rows, n_features=features, n_informative=features // 2,
        n_classes=2, random_state=0,
    )
    X = X.astype(np.float32)
    rf = RandomForestClassifier(
        n_estimators=trees, max_depth=depth, n_jobs=-1, random_state=0
    ).fit(X[:train_rows], y[:train_rows])
    return rf, np.ascontiguousarray(X[train_rows:])


def _nvforest(rf):
    """nvForest (or cuML's FIL) on the GPU and the CPU, or why not."""
    try:
        import nvforest

        def load(device):
            return nvforest.load_from_sklearn(rf, device=device, precision="single")

        return "nvForest", load, None
    except ImportError:
        pass
    try:
        from cuml import ForestInference

        def load(device):
            return ForestInference.load_from_sklearn(rf, precision="single", device=device)

        return "cuML FIL", load, None
    except ImportError:
        return None, None, "neither nvforest (pip install nvforest-cu12/-cu13) nor cuml is installed"


def run(sizes=DEFAULT_SIZES, trees=200, depth=12, features=32, train_rows=100_000, runs=7,
        forest_bin=None, log=print):
    """Measures every scorer at every batch size; returns the records (also passed to `log`)."""
    records = []

    def record(**r):
        records.append(r)
        log(r)

    cores = os.cpu_count()
    threads = _engine.default_threads()
    t = time.perf_counter()
    rf, rows = _forest(trees, depth, features, train_rows, max(sizes))
    record(what="forest", trees=trees, max_depth=depth, features=features, train_rows=train_rows,
           nodes=int(sum(e.tree_.node_count for e in rf.estimators_)),
           sklearn_fit_s=round(time.perf_counter() - t, 3), cores=cores)
    ours = from_sklearn(rf)
    try:
        adapter = _engine.gpu_adapter()
    except RuntimeError as e:
        adapter = None
        record(what="skip", scorer="gpuforest gpu", why=str(e))
    try:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        session = ort.InferenceSession(
            ours._model.to_onnx(), opts, providers=["CPUExecutionProvider"]
        )
        onnx_input = session.get_inputs()[0].name
    except ImportError:
        session = None
        record(what="skip", scorer="onnxruntime", why="onnxruntime is not installed")
    fil_name, fil_load, why = _nvforest(rf)
    if why:
        record(what="skip", scorer="nvforest", why=why)
    fil = {d: fil_load(d) for d in ("gpu", "cpu")} if fil_load else {}

    for n in sizes:
        x = rows[:n]
        reps = _runs_for(n, runs)
        want = rf.predict_proba(x)

        def measure(scorer, fn, device, threads_used, **extra):
            got = np.asarray(fn())
            err = float(np.abs(got[:, -1] - want[:, -1]).max())
            s = _median(fn, reps)
            record(what="score", scorer=scorer, rows=n, median_ms=round(s * 1e3, 4),
                   device=device, threads=threads_used, max_abs_diff_vs_sklearn=err, **extra)

        measure("scikit-learn", lambda: rf.predict_proba(x), "cpu", threads)
        ours.set_params(device="cpu")
        measure("gpuforest cpu", lambda: ours.predict_proba(x), "cpu", threads)
        if adapter:
            ours.set_params(device="gpu")
            measure("gpuforest gpu", lambda: ours.predict_proba(x), adapter, None)
            resident = ours._model.upload(x)
            measure("gpuforest gpu resident", lambda: ours._model.score_rows(resident), adapter,
                    None, note="rows on the GPU; outputs copied back")
        if session is not None:
            measure("onnxruntime", lambda: session.run(None, {onnx_input: x})[1], "cpu", threads)
        for device, fm in fil.items():
            if device == "cpu" and n > 100_000:
                continue
            try:
                fo = fm.optimize(batch_size=n)
            except Exception:  # older versions have no optimize(): the default layout
                fo = fm

            def host(fo=fo):
                out = fo.predict_proba(x)
                return out.get() if hasattr(out, "get") else np.asarray(out)

            # nvForest's CPU threads are OpenMP's: every core unless OMP_NUM_THREADS says.
            omp = os.environ.get("OMP_NUM_THREADS", "OpenMP default")
            measure(f"{fil_name} {device}", host, device, omp if device == "cpu" else None,
                    precision="single")
    if forest_bin:
        records.extend(_forest_bench(forest_bin, ours, rows, sizes, runs, log))
    return records


def _forest_bench(forest_bin, ours, rows, sizes, runs, log):
    """`forest bench --model --rows` on the same forest and rows, its JSON lines kept."""
    out = []
    with tempfile.TemporaryDirectory() as d:
        model, csv = os.path.join(d, "m.json"), os.path.join(d, "rows.csv")
        ours.save(model)
        n = max(sizes)
        header = ",".join(f"x{i}" for i in range(rows.shape[1]))
        np.savetxt(csv, rows[:n], fmt="%.9g", delimiter=",", header=header, comments="")
        cmd = [forest_bin, "bench", "--model", model, "--rows", csv, "--json", "--runs", str(runs),
               "--batches", ",".join(map(str, sizes)), "--no-variants"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            r = dict(what="skip", scorer="forest bench", why=done.stderr.strip()[-300:])
            log(r)
            return [r]
        for line in done.stdout.splitlines():
            r = json.loads(line)
            if "batch_rows" in r:
                r = dict(what="forest bench", **r)
                log(r)
                out.append(r)
    return out


def _timed(fn, budget_s=2.0, max_runs=5):
    """Median wall and process-CPU seconds of up to `max_runs` calls, stopping once `budget_s`
    is spent (a call of minutes runs once): (wall, cpu, runs, the first call's result)."""
    walls, cpus, first = [], [], None
    while len(walls) < max_runs and (not walls or sum(walls) < budget_s):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
        first = out if first is None else first
    return float(np.median(walls)), float(np.median(cpus)), len(walls), first


def run_explain(sizes=(100, 1000, 10_000), trees=200, depth=12, features=32, train_rows=100_000,
                limit_s=150.0, log=print):
    """SHAP values of one scikit-learn forest's rows: `shap.TreeExplainer` (path-dependent, its
    C++ code), this package on every thread, on one, and on the GPU. A scorer is skipped at a
    batch its last batch's time per row says would take over `limit_s`; its values are compared
    with shap's where both ran."""
    records = []

    def record(**r):
        records.append(r)
        log(r)

    threads = _engine.default_threads()
    rf, rows = _forest(trees, depth, features, train_rows, max(sizes))
    record(what="forest", trees=trees, max_depth=depth, features=features, train_rows=train_rows,
           nodes=int(sum(e.tree_.node_count for e in rf.estimators_)), cores=os.cpu_count())
    ours = from_sklearn(rf)
    scorers = []
    try:
        import shap

        t = time.perf_counter()
        explainer = shap.TreeExplainer(rf, feature_perturbation="tree_path_dependent")
        record(what="setup", scorer=f"shap {shap.__version__}",
               seconds=round(time.perf_counter() - t, 3))
        scorers.append((f"shap {shap.__version__}", "cpu",
                        lambda x: np.asarray(explainer.shap_values(x, check_additivity=False))))
    except ImportError:
        record(what="skip", scorer="shap", why="shap is not installed")
    scorers.append(("gpuforest cpu", "cpu", lambda x: ours.shap_values(x, device="cpu")))
    one = from_sklearn(rf).set_params(n_jobs=1)
    scorers.append(("gpuforest cpu 1 thread", "cpu", lambda x: one.shap_values(x, device="cpu")))
    try:
        adapter = _engine.gpu_adapter()
        scorers.append(("gpuforest gpu", adapter, lambda x: ours.shap_values(x, device="gpu")))
    except RuntimeError as e:
        record(what="skip", scorer="gpuforest gpu", why=str(e))
    for name, _, fn in scorers:  # paths, kernels and caches made before any timing
        fn(rows[:1])
    per_row = {}
    for n in sizes:
        x = rows[:n]
        reference = None
        for name, device, fn in scorers:
            guess = per_row.get(name, 0.0) * n
            if guess > limit_s:
                record(what="skip", scorer=name, rows=n,
                       why=f"about {guess:.0f} s by its time per row at fewer rows")
                continue
            wall, cpu, runs, got = _timed(lambda: fn(x))
            per_row[name] = wall / n
            r = dict(what="explain", scorer=name, rows=n, median_ms=round(wall * 1e3, 3),
                     runs=runs, device=device, cpu_over_wall=round(cpu / wall, 2))
            if name.startswith("gpuforest cpu") and "1 thread" not in name:
                r["threads"] = threads
            elif "1 thread" in name:
                r["threads"] = 1
            if reference is None and name.startswith("shap"):
                reference = got
            elif reference is not None:
                scale = np.abs(reference).max(axis=(1, 2), keepdims=True)
                r["max_diff_vs_shap_of_row_largest"] = float(
                    (np.abs(got - reference) / np.maximum(scale, 1e-12)).max())
            record(**r)
    return records


def table(records):
    """The records as a text table: milliseconds by scorer (rows) and batch size (columns)."""
    scores = [r for r in records if r["what"] == "score"]
    sizes = sorted({r["rows"] for r in scores})
    scorers = list(dict.fromkeys(r["scorer"] for r in scores))
    lines = []
    f = next((r for r in records if r["what"] == "forest"), None)
    if f:
        lines.append(f"forest: {f['trees']} trees, depth {f['max_depth']}, {f['features']} features, "
                     f"{f['nodes']} nodes; {f['cores']} cores")
    lines.append("median ms, end to end".ljust(34) + "".join(f"{n:>12}" for n in sizes))
    for s in scorers:
        by = {r["rows"]: r for r in scores if r["scorer"] == s}
        any_r = next(iter(by.values()))
        where = any_r["device"] + (f", {any_r['threads']} threads" if any_r.get("threads") else "")
        label = f"{s} ({where})"
        lines.append(label[:33].ljust(34) + "".join(
            f"{by[n]['median_ms']:>12.4f}" if n in by else f"{'-':>12}" for n in sizes))
    fb = [r for r in records if r["what"] == "forest bench"]
    for s in dict.fromkeys(r["scorer"] for r in fb):
        by = {r["batch_rows"]: r for r in fb if r["scorer"] == s}
        lines.append(f"forest bench: {s}"[:33].ljust(34) + "".join(
            f"{by[n]['end_to_end_ms']:>12.4f}" if n in by and by[n]["end_to_end_ms"] else f"{'-':>12}"
            for n in sizes))
    for r in records:
        if r["what"] == "skip":
            lines.append(f"not measured: {r['scorer']}: {r['why']}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m gpuforest.bench", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    p.add_argument("--trees", type=int, default=200)
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--train-rows", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--forest-bin", help="also run this `forest` binary's bench on the same rows")
    p.add_argument("--jsonl", help="write one JSON line per record here (default: stdout)")
    p.add_argument("--explain", action="store_true",
                   help="time SHAP values instead of scoring (shap, our CPU and GPU)")
    a = p.parse_args(argv)
    sink = open(a.jsonl, "w") if a.jsonl else sys.stdout

    def log(r):
        print(json.dumps(r), file=sink, flush=True)

    sizes = [int(s) for s in a.sizes.split(",")]
    if a.explain:
        records = run_explain(sizes, a.trees, a.depth, a.features, a.train_rows, log=log)
        for r in records:
            if r["what"] == "explain":
                print(f"{r['scorer']:<28} {r['rows']:>8} rows  {r['median_ms']:>12.1f} ms"
                      f"  ({r.get('threads', r['device'])})", file=sys.stderr)
        return
    records = run(sizes, a.trees, a.depth, a.features, a.train_rows, a.runs, a.forest_bin, log)
    print(table(records), file=sys.stderr if sink is sys.stdout else sys.stdout)


if __name__ == "__main__":
    main()
