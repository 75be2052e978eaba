#!/usr/bin/env python3
"""Writes the ONNX fixtures that tests/onnx.rs scores: tree ensembles from the converters people
use, a few built by hand to reach every node mode and output rule, and models that must be
refused, each with ONNX Runtime's outputs on its rows.

    pip install scikit-learn skl2onnx onnxmltools onnxruntime xgboost lightgbm
    python3 scripts/onnx_fixtures.py            # writes tests/fixtures/onnx/

The fixtures are committed: the tests need no Python. Files per fixture NAME:
  NAME.onnx       the model
  NAME.csv        ONNX Runtime's outputs on the rows of its inputs file: label, then out_0...
and per input set: rows_*.csv (features only, in model order; an empty cell is missing).
index.json lists fixture -> inputs file, and the refusals with a phrase their message must hold.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx")
NF = 6


def data(n, classes, nan, seed):
    """Rows on a 0.25 grid, so that the test rows land exactly on thresholds that are data
    values (XGBoost's `x < t`), where the strict and non-strict modes differ."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(n, NF)) * 4) / 4
    score = x[:, 0] + 0.5 * x[:, 1] * x[:, 2] - x[:, 3] + 0.3 * rng.normal(size=n)
    if classes == 0:
        y = score.astype(np.float32)
    elif classes == 2:
        y = (score > 0).astype(np.int64)
    else:
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    if nan:
        x[rng.random(x.shape) < 0.1] = np.nan
    return x.astype(np.float32), y


def write_rows(name, x):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(",".join(f"f{i}" for i in range(NF)) + "\n")
        for row in x:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def run_ort(path, x):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    res = s.run(None, {name: x})
    outs = {o.name: r for o, r in zip(s.get_outputs(), res)}
    return outs


def save(name, model, x, rows_file, index):
    path = os.path.join(OUT, name + ".onnx")
    if not isinstance(model, bytes):
        model = model.SerializeToString()
    with open(path, "wb") as f:
        f.write(model)
    outs = list(run_ort(path, x).values())
    if len(outs) == 1:  # regressor: values
        labels, values = None, np.asarray(outs[0])
    else:
        labels, values = outs[0], outs[1]
        if isinstance(values, list):  # ZipMap: a list of {label: p}
            keys = list(values[0].keys())
            values = np.array([[m[k] for k in keys] for m in values], dtype=np.float32)
    values = np.asarray(values, dtype=np.float32).reshape(len(x), -1)
    with open(os.path.join(OUT, name + ".csv"), "w") as f:
        f.write("label," + ",".join(f"out_{i}" for i in range(values.shape[1])) + "\n")
        for i, row in enumerate(values):
            label = "" if labels is None else str(labels[i])
            f.write(label + "," + ",".join(repr(float(v)) for v in row) + "\n")
    index["models"][name] = rows_file
    print(f"{name}: {len(model)} bytes")


def sklearn_models(index):
    from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                                  GradientBoostingClassifier, GradientBoostingRegressor,
                                  HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                                  RandomForestClassifier, RandomForestRegressor)
    from skl2onnx import to_onnx

    sets = {}
    for classes in (2, 3, 0):
        for nan in (False, True):
            x, y = data(400, classes, nan, seed=classes * 10 + nan)
            xt, _ = data(64, classes, nan, seed=100 + classes * 10 + nan)
            rows = f"rows_{classes}{'_nan' if nan else ''}.csv"
            write_rows(rows, xt)
            sets[(classes, nan)] = (x, y, xt, rows)

    small = dict(n_estimators=8, max_depth=6, random_state=0)
    for name, est, classes, nan in [
        ("skl_rf_binary", RandomForestClassifier(**small), 2, False),
        ("skl_rf_multi", RandomForestClassifier(**small), 3, False),
        ("skl_rf_regression", RandomForestRegressor(**small), 0, False),
        ("skl_et_binary", ExtraTreesClassifier(**small), 2, False),
        ("skl_et_regression", ExtraTreesRegressor(**small), 0, False),
        ("skl_gb_binary", GradientBoostingClassifier(**small), 2, False),
        ("skl_gb_multi", GradientBoostingClassifier(**small), 3, False),
        ("skl_gb_regression", GradientBoostingRegressor(**small), 0, False),
        ("skl_hgb_binary_nan", HistGradientBoostingClassifier(max_iter=8, random_state=0), 2, True),
        ("skl_hgb_multi_nan", HistGradientBoostingClassifier(max_iter=8, random_state=0), 3, True),
        ("skl_hgb_regression_nan", HistGradientBoostingRegressor(max_iter=8, random_state=0), 0, True),
    ]:
        x, y, xt, rows = sets[(classes, nan)]
        if name == "skl_rf_multi":
            y = np.array(["low", "mid", "high"])[y]  # string labels
        est.fit(x, y)
        try:
            onx = to_onnx(est, x[:1], target_opset={"": 17, "ai.onnx.ml": 3})
        except Exception as e:  # noqa: BLE001 - say which converter could not, and go on
            print(f"{name}: skl2onnx cannot convert it ({e})", file=sys.stderr)
            continue
        save(name, onx, xt, rows, index)
    return sets


def booster_models(index, sets):
    import lightgbm as lgb
    import xgboost as xgb
    from onnxmltools import convert_lightgbm, convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    types = [("input", FloatTensorType([None, NF]))]
    for classes in (2, 3, 0):
        x, y, xt, rows = sets[(classes, True)]
        kind = {2: "binary", 3: "multi", 0: "regression"}[classes]
        xm = (xgb.XGBRegressor if classes == 0 else xgb.XGBClassifier)(
            n_estimators=8, max_depth=4, random_state=0)
        xm.fit(x, y)
        save(f"xgb_{kind}_nan", convert_xgboost(xm, initial_types=types, target_opset=15), xt,
             rows, index)
        lm = (lgb.LGBMRegressor if classes == 0 else lgb.LGBMClassifier)(
            n_estimators=8, num_leaves=15, random_state=0, verbose=-1)
        lm.fit(x, y)
        save(f"lgb_{kind}_nan", convert_lightgbm(lm, initial_types=types, target_opset=15,
                                                 zipmap=False), xt, rows, index)


def spark_models(index, sets):
    """Spark ML forests through onnxmltools (needs pyspark and Java 17; about a minute)."""
    try:
        from pyspark.ml.classification import GBTClassifier, RandomForestClassifier
        from pyspark.ml.linalg import Vectors
        from pyspark.ml.regression import RandomForestRegressor
        from pyspark.sql import SparkSession
    except ImportError:
        print("spark: pyspark is not installed; no Spark fixtures", file=sys.stderr)
        return
    from onnxmltools import convert_sparkml
    from onnxmltools.convert.common.data_types import FloatTensorType

    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1").getOrCreate())
    for name, est, classes in [
        ("spark_rf_binary", RandomForestClassifier(numTrees=6, maxDepth=5, seed=0), 2),
        ("spark_rf_multi", RandomForestClassifier(numTrees=6, maxDepth=5, seed=0), 3),
        ("spark_rf_regression", RandomForestRegressor(numTrees=6, maxDepth=5, seed=0), 0),
        # onnxmltools writes a GBT as one ensemble a tree, summed by Concat and MatMul. Its
        # GBTRegressor graph ends in an ArgMax (a converter bug): left out.
        ("spark_gbt_binary", GBTClassifier(maxIter=6, maxDepth=4, seed=0), 2),
    ]:
        x, y, xt, rows = sets[(classes, False)]
        df = spark.createDataFrame([(Vectors.dense(r.tolist()), float(t)) for r, t in zip(x, y)],
                                   ["features", "label"])
        m = est.fit(df)
        onx = convert_sparkml(m, name, [("features", FloatTensorType([None, NF]))],
                              spark_session=spark, target_opset=15)
        save(name, onx, xt, rows, index)
    spark.stop()


def ensemble(op, attrs, outputs, n_out, extra_nodes=(), ml_opset=3):
    """A graph with one tree-ensemble node on input X (float, [N, NF])."""
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, NF])
    if op == "TreeEnsembleClassifier":
        outs = [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
                helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, n_out])]
        names = ["label", "probabilities"]
    else:
        outs = [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, n_out])]
        names = ["variable"]
    node = helper.make_node(op, ["X"], names, domain="ai.onnx.ml", **attrs)
    g = helper.make_graph([node, *extra_nodes], "hand", [x], outs if outputs is None else outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("ai.onnx.ml", ml_opset)])
    m.ir_version = 8
    return m


def mode_tree(mode, t, missing_true):
    """Trees with one split each (feature 0, threshold t, the given mode), as attributes."""
    return dict(
        nodes_treeids=[0, 0, 0], nodes_nodeids=[0, 1, 2], nodes_featureids=[0, 0, 0],
        nodes_values=[t, 0.0, 0.0], nodes_modes=[mode, "LEAF", "LEAF"],
        nodes_truenodeids=[1, 0, 0], nodes_falsenodeids=[2, 0, 0],
        nodes_missing_value_tracks_true=[missing_true, 0, 0],
        target_treeids=[0, 0], target_nodeids=[1, 2], target_ids=[0, 0],
        target_weights=[10.0, -20.0], n_targets=1)


def hand_models(index):
    """Every node mode at a threshold that is a float's neighbour, on rows that sit on, just
    below and just above it (and missing), plus the output rules no converter above uses."""
    t = np.float32(0.1)  # not a short binary fraction: its neighbours differ from it
    near = [np.nextafter(t, np.float32(-1)), t, np.nextafter(t, np.float32(1))]
    vals = [*near, np.float32(-0.0), np.float32(0.0), np.nan, np.float32(-3), np.float32(3)]
    xt = np.zeros((len(vals), NF), dtype=np.float32)
    xt[:, 0] = vals
    xt[:, 1] = np.linspace(-1, 1, len(vals))
    # Whole numbers for set membership: ONNX Runtime tests membership of int(x) (a category
    # code), the specification x itself; the two agree on whole numbers.
    xt[:, 2] = [-3, -1, 0, 3, 2, np.nan, 7, -0.0]
    write_rows("rows_edges.csv", xt)
    for mode in ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]:
        for missing in (0, 1):
            a = mode_tree(mode, float(t), missing)
            save(f"hand_{mode.lower()}_missing{missing}", ensemble("TreeEnsembleRegressor", a, None, 1),
                 xt, "rows_edges.csv", index)
    zero = mode_tree("BRANCH_EQ", 0.0, 0)
    save("hand_eq_zero", ensemble("TreeEnsembleRegressor", zero, None, 1), xt, "rows_edges.csv", index)

    # Two trees, a DAG (both splits of tree 1 share a leaf), AVERAGE with a base value; and a 3-class classifier with SOFTMAX_ZERO and a base value per class.
    two = dict(
        nodes_treeids=[0, 0, 0, 1, 1, 1, 1], nodes_nodeids=[0, 1, 2, 0, 1, 2, 3],
        nodes_featureids=[0, 0, 0, 1, 0, 1, 1],
        nodes_values=[0.1, 0, 0, 0.0, -0.5, 0, 0],
        nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF", "BRANCH_GT", "BRANCH_LT", "LEAF", "LEAF"],
        nodes_truenodeids=[1, 0, 0, 1, 2, 0, 0], nodes_falsenodeids=[2, 0, 0, 2, 3, 0, 0],
        target_treeids=[0, 0, 0, 1, 1, 1], target_nodeids=[1, 2, 2, 2, 3, 3],
        target_ids=[0, 0, 0, 0, 0, 0], target_weights=[1.5, -2.0, 4.0, 0.25, 8.0, -1.0],
        n_targets=1, aggregate_function="AVERAGE", base_values=[100.0])
    save("hand_average_dag", ensemble("TreeEnsembleRegressor", two, None, 1), xt, "rows_edges.csv",
         index)
    two_targets = {**two, "target_ids": [0, 0, 1, 1, 0, 1], "n_targets": 2, "base_values": [1.0, 2.0]}
    cls = dict(
        nodes_treeids=[0, 0, 0], nodes_nodeids=[0, 1, 2], nodes_featureids=[1, 0, 0],
        nodes_values=[0.0, 0, 0], nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF"],
        nodes_truenodeids=[1, 0, 0], nodes_falsenodeids=[2, 0, 0],
        class_treeids=[0, 0, 0, 0], class_nodeids=[1, 1, 2, 2], class_ids=[0, 2, 1, 2],
        class_weights=[2.0, 1.0, 3.0, 0.0], classlabels_int64s=[5, 7, 9],
        base_values=[0.0, 0.5, 0.0], post_transform="SOFTMAX_ZERO")
    save("hand_softmax_zero", ensemble("TreeEnsembleClassifier", cls, None, 3), xt,
         "rows_edges.csv", index)

    # A final Softmax (classifier) or Sigmoid (regressor) node after an ensemble with no
    # post_transform, as some converters write it.
    soft = {**cls, "post_transform": "NONE", "base_values": [0.0, 0.5, 0.0]}
    out = [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
           helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 3])]
    save("hand_graph_softmax", ensemble("TreeEnsembleClassifier", soft, out, 3, extra_nodes=[
        helper.make_node("Softmax", ["probabilities"], ["p"], axis=1)]), xt, "rows_edges.csv", index)
    out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])]
    save("hand_graph_sigmoid", ensemble("TreeEnsembleRegressor", {**two, "base_values": [-1.0]}, out, 1,
         extra_nodes=[helper.make_node("Sigmoid", ["variable"], ["y"])]), xt, "rows_edges.csv", index)

    # ai.onnx.ml opset 5's TreeEnsemble: leaves apart from nodes, set membership, modes as a
    # tensor.
    t5 = dict(
        n_targets=1, aggregate_function=1, post_transform=0,
        tree_roots=[0, 2],
        nodes_featureids=[2, 1, 0], nodes_modes=helper.make_tensor("m", TensorProto.UINT8, [3], [6, 3, 1]),
        nodes_splits=helper.make_tensor("s", TensorProto.FLOAT, [3], [np.nan, 0.2, 0.1]),
        nodes_truenodeids=[0, 2, 2], nodes_trueleafs=[1, 0, 1],
        nodes_falsenodeids=[1, 3, 3], nodes_falseleafs=[1, 1, 1],
        nodes_missing_value_tracks_true=[0, 1, 0],
        membership_values=helper.make_tensor("mv", TensorProto.FLOAT, [4], [-3.0, 3.0, 0.0, np.nan]),
        leaf_targetids=[0, 0, 0, 0], leaf_weights=helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 30.0, 40.0]))
    try:
        save("hand_opset5_member", ensemble("TreeEnsemble", t5, None, 1, ml_opset=5), xt,
             "rows_edges.csv", index)
    except Exception as e:  # noqa: BLE001
        print(f"opset 5 TreeEnsemble: ONNX Runtime refused it ({e})", file=sys.stderr)

    # Refusals: each model is valid ONNX that this program does not score, with a phrase its
    # message must hold.
    bad = {}
    a = mode_tree("BRANCH_LEQ", 0.5, 0)
    bad["bad_min"] = (ensemble("TreeEnsembleRegressor", {**a, "aggregate_function": "MIN"}, None, 1), "aggregate_function MIN")
    bad["bad_probit"] = (ensemble("TreeEnsembleRegressor", {**a, "post_transform": "PROBIT"}, None, 1), "post_transform PROBIT")
    scaled = ensemble("TreeEnsembleRegressor", a, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])], 1,
                      extra_nodes=[helper.make_node("Scaler", ["variable"], ["Y"], domain="ai.onnx.ml", scale=[2.0])])
    bad["bad_scaler"] = (scaled, "Scaler")
    bad["bad_two_targets"] = (ensemble("TreeEnsembleRegressor", two_targets, None, 2), "2 targets")
    second = helper.make_node("TreeEnsembleRegressor", ["X"], ["v2"], domain="ai.onnx.ml", **a)
    twice = ensemble("TreeEnsembleRegressor", a, [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1]),
                                                helper.make_tensor_value_info("v2", TensorProto.FLOAT, [None, 1])], 1,
                     extra_nodes=[second])
    bad["bad_two_ensembles"] = (twice, "2 tree ensembles")
    bad["bad_not_onnx"] = (b"name,age\nx,1\n", "not an ONNX model")
    for name, (m, phrase) in bad.items():
        with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
            f.write(m if isinstance(m, bytes) else m.SerializeToString())
        index["refused"][name] = phrase


def exported_models(index, sets):
    """This program's forests, exported by `forest export --onnx` and scored by ONNX Runtime:
    the test checks that export still writes these bytes and that they score as ours."""
    import subprocess
    forest = os.path.join(os.path.dirname(__file__), "..", "target", "release", "forest")
    subprocess.run(["cargo", "build", "--release", "--bin", "forest"], check=True)
    index["exported"] = {}
    for classes, kind in [(2, "binary"), (3, "multi"), (0, "regression")]:
        x, y, xt, rows = sets[(classes, True)]
        if classes == 3:
            y = np.array(["low", "mid", "high"])[y]
        train = os.path.join(OUT, f"train_{kind}.csv")
        with open(train, "w") as f:
            f.write(",".join(f"f{i}" for i in range(NF)) + ",target\n")
            for row, t in zip(x, y):
                f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + f",{t}\n")
        name = f"export_{kind}"
        model = os.path.join(OUT, name + ".json")
        task = "regression" if classes == 0 else "classification"
        subprocess.run([forest, "train", "--csv", train, "--target", "target", "--task", task,
                        "--trees", "6", "--max-depth", "5", "--test-fraction", "0",
                        "--model-out", model], check=True, stdout=subprocess.DEVNULL)
        os.remove(train)
        onx = os.path.join(OUT, name + ".onnx")
        subprocess.run([forest, "export", "--model", model, "--onnx", onx], check=True)
        with open(onx, "rb") as f:
            save(name, f.read(), xt, rows, index)
        index["exported"][name] = rows


def main():
    os.makedirs(OUT, exist_ok=True)
    index = {"models": {}, "refused": {}}
    sets = sklearn_models(index)
    booster_models(index, sets)
    spark_models(index, sets)
    hand_models(index)
    exported_models(index, sets)
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"versions: onnx {onnx.__version__}, onnxruntime {ort.__version__}")


if __name__ == "__main__":
    main()
