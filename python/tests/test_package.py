"""The package against the engine's promises: the CLI's model bytes, the GPU's bits, scikit-learn's
forests, model files and pickles, and clear errors."""

import json
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError

import gpuforest
from gpuforest import RandomForestClassifier, RandomForestRegressor

pd = pytest.importorskip("pandas")

ROOT = Path(__file__).resolve().parents[2]


def forest_cli():
    """The `forest` binary that `cargo test --release` built (FOREST_BIN overrides)."""
    path = Path(os.environ.get("FOREST_BIN", ROOT / "target" / "release" / "forest"))
    if not path.exists():
        subprocess.run(
            ["cargo", "build", "--release", "--locked", "--bin", "forest"], cwd=ROOT, check=True
        )
    return str(path)


def table(n=300, seed=0):
    """Numbers with missing cells, a text column, and a class target, as a CSV file has them."""
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(size=n), 4)
    b = np.round(rng.uniform(0, 10, size=n), 3)
    b[rng.random(n) < 0.1] = np.nan
    ward = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    y = ((a + (ward == "south") + rng.normal(scale=0.5, size=n)) > 0.5).astype(int)
    return pd.DataFrame({"a": a, "b": b, "ward": ward, "y": y})


@pytest.mark.parametrize("text", [False, True])
def test_fit_gives_the_model_bytes_of_forest_train(tmp_path, text):
    df = table()
    if not text:
        df = df.drop(columns="ward")
    csv = tmp_path / "t.csv"
    df.to_csv(csv, index=False)
    cli_model = tmp_path / "cli.json"
    subprocess.run(
        [forest_cli(), "train", "--csv", str(csv), "--target", "y", "--trees", "12",
         "--seed", "7", "--test-fraction", "0", "--max-features", "sqrt",
         "--criterion", "gini", "--model-out", str(cli_model)],
        check=True, capture_output=True,
    )
    read = pd.read_csv(csv)
    clf = RandomForestClassifier(n_estimators=12, random_state=7).fit(
        read.drop(columns="y"), read["y"]
    )
    clf.save(tmp_path / "py.json")
    assert (tmp_path / "py.json").read_bytes() == cli_model.read_bytes()


def test_gpu_outputs_equal_the_cpu_bits():
    X, y = make_classification(600, 12, n_informative=6, n_classes=3, random_state=1)
    X[::7, 3] = np.nan
    clf = RandomForestClassifier(n_estimators=25, max_depth=9, random_state=0).fit(X, y)
    cpu = clf.set_params(device="cpu").predict_proba(X)
    gpu = clf.set_params(device="gpu").predict_proba(X)
    assert cpu.dtype == gpu.dtype == np.float32
    assert np.array_equal(cpu.view(np.uint32), gpu.view(np.uint32))
    Xr, yr = make_regression(500, 8, random_state=2)
    reg = RandomForestRegressor(n_estimators=20, random_state=0, device="cpu").fit(Xr, yr)
    cpu = reg.predict(Xr)
    assert np.array_equal(cpu, reg.set_params(device="gpu").predict(Xr))


@pytest.mark.parametrize(
    "kind", ["RandomForestClassifier", "ExtraTreesClassifier", "RandomForestRegressor",
             "ExtraTreesRegressor"],
)
def test_from_sklearn_agrees_with_scikit_learn(kind):
    import sklearn.ensemble

    classify = kind.endswith("Classifier")
    if classify:
        X, y = make_classification(800, 10, n_informative=5, n_classes=3, random_state=3)
    else:
        X, y = make_regression(800, 10, random_state=3)
    X[::5, 2] = np.nan  # scikit-learn 1.4+ grows forests on rows with missing values
    forest = getattr(sklearn.ensemble, kind)(n_estimators=30, random_state=0).fit(X, y)
    ours = gpuforest.from_sklearn(forest)
    X_test = X[:300].copy()
    X_test[::3, 7] = np.nan
    if classify:
        want, got = forest.predict_proba(X_test), ours.predict_proba(X_test)
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
        assert np.array_equal(ours.classes_, forest.classes_)
        gpu = ours.set_params(device="gpu").predict_proba(X_test)
        assert np.array_equal(gpu, got)
    else:
        want, got = forest.predict(X_test), ours.predict(X_test)
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-4)


def test_pickle_and_model_files_round_trip(tmp_path):
    X, y = make_classification(400, 6, random_state=4)
    labels = np.array(["healthy", "sick"])[y]
    clf = RandomForestClassifier(n_estimators=15, random_state=1, oob_score=True).fit(X, labels)
    want = clf.predict_proba(X)
    back = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(back.predict_proba(X), want)
    assert back.oob_score_ == clf.oob_score_
    clf.save(tmp_path / "m.json")
    loaded = gpuforest.load(tmp_path / "m.json")
    assert np.array_equal(loaded.predict_proba(X), want)
    assert list(loaded.classes_) == ["healthy", "sick"]
    assert np.array_equal(loaded.feature_importances_, clf.feature_importances_)
    clf.save(tmp_path / "m.onnx")
    onnx = gpuforest.load(tmp_path / "m.onnx")
    np.testing.assert_allclose(onnx.predict_proba(X), want, atol=1e-6)
    # A frame with a text column comes back with its column names.
    df = table()
    reg = RandomForestRegressor(n_estimators=5, random_state=0).fit(df.drop(columns="a"), df["a"])
    reg.save(tmp_path / "r.json")
    again = gpuforest.load(tmp_path / "r.json")
    assert list(again.feature_names_in_) == ["b", "ward", "y"]
    assert np.array_equal(again.predict(df.drop(columns="a")), reg.predict(df.drop(columns="a")))


def test_text_columns_score_by_name_and_unseen_categories_are_missing():
    df = table()
    clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(df.drop(columns="y"), df["y"])
    X = df.drop(columns="y")
    p = clf.predict_proba(X)
    with pytest.raises(ValueError, match="same order"):
        clf.predict_proba(X[["ward", "b", "a"]])
    unseen = X.assign(ward="west")
    nan = X.assign(ward=np.nan)
    assert np.array_equal(clf.predict_proba(unseen), clf.predict_proba(nan))
    with pytest.raises(ValueError, match="text columns"):
        clf.predict_proba(np.zeros((2, 3)))


def test_float32_rows_are_read_in_place():
    from gpuforest import _data

    X, y = make_classification(200, 4, random_state=8)
    clf = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    x32 = np.ascontiguousarray(X, dtype=np.float32)
    assert _data.score_input(clf, x32) is x32
    assert np.array_equal(clf.predict_proba(x32), clf.predict_proba(X))
    with pytest.raises(ValueError, match="expecting 4"):
        clf.predict(x32[:, :2].copy())


def test_bad_input_gives_clear_errors():
    X, y = make_classification(100, 4, random_state=5)
    with pytest.raises(NotFittedError):
        RandomForestClassifier().predict(X)
    clf = RandomForestClassifier(n_estimators=3).fit(X, y)
    with pytest.raises(ValueError, match="3 features, but RandomForestClassifier is expecting 4"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="could not convert|dtype"):
        clf.predict(np.array([["a", "b", "c", "d"]]))
    y_nan = y.astype(float)
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RandomForestRegressor(n_estimators=2).fit(X, y_nan)
    with pytest.raises(ValueError, match="Negative values"):
        RandomForestClassifier(n_estimators=2).fit(X, y, sample_weight=-np.ones(100))
    with pytest.raises(ValueError, match="max_features"):
        RandomForestClassifier(n_estimators=2, max_features=9).fit(X, y)
    with pytest.raises(ValueError, match="device"):
        RandomForestClassifier(device="tpu").fit(X, y)
    with pytest.raises(ValueError, match="beyond"):
        RandomForestRegressor(n_estimators=2).fit(X, np.full(100, 1e31))


def test_sample_weights_weigh():
    X, y = make_classification(300, 5, random_state=6, flip_y=0.3)
    fit = lambda w=None: RandomForestClassifier(8, max_depth=3, random_state=0).fit(X, y, w)
    plain = fit().predict_proba(X)
    # Doubling every weight doubles every sum exactly: the same splits, the same leaves.
    assert np.array_equal(fit(np.full(300, 2.0)).predict_proba(X), plain)
    heavy = fit(np.where(y == 1, 20.0, 1.0)).predict_proba(X)
    assert heavy[:, 1].mean() > plain[:, 1].mean() + 0.05
    dict_weights = RandomForestClassifier(
        8, max_depth=3, random_state=0, class_weight={0: 1.0, 1: 20.0}
    ).fit(X, y)
    assert np.array_equal(dict_weights.predict_proba(X), heavy)


def test_dask_fit_gives_the_one_machine_model():
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    import gpuforest.dask as gd

    X, y = make_classification(500, 8, random_state=7)
    local = RandomForestClassifier(n_estimators=9, random_state=3, oob_score=True).fit(X, y)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        dX, dy = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
        clf = gd.RandomForestClassifier(n_estimators=9, random_state=3, oob_score=True).fit(dX, dy)
        assert clf._model.to_json() == local._model.to_json()
        assert clf.oob_score_ == local.oob_score_
        proba = clf.predict_proba(dX)
        assert isinstance(proba, da.Array)
        assert np.array_equal(proba.compute(), local.predict_proba(X))
        assert np.array_equal(clf.predict(dX).compute(), local.predict(X))
        dd = pytest.importorskip("dask.dataframe")
        frame = dd.from_pandas(pd.DataFrame(X, columns=[f"c{i}" for i in range(8)]), npartitions=3)
        named = gd.RandomForestClassifier(n_estimators=4, random_state=0).fit(frame, dy)
        assert np.array_equal(named.predict(frame).compute().to_numpy(), named.predict(frame.compute()))
        assert client is not None


def test_shap_values_add_up_and_the_gpu_gives_the_cpus():
    X, y = make_classification(500, 8, n_informative=4, n_classes=3, random_state=5)
    X[::6, 1] = np.nan
    clf = RandomForestClassifier(n_estimators=20, max_depth=8, random_state=0, device="cpu")
    clf.fit(X, y)
    values = clf.shap_values(X[:100])
    assert values.shape == (100, 8, 3)
    total = clf.shap_expected_value() + values.sum(axis=1)
    np.testing.assert_allclose(total, clf.predict_proba(X[:100]), rtol=0, atol=1e-5)
    # Within 1e-6 of the row's largest value: a GPU's compiler may fuse multiply-adds
    # (tests/gpu.rs says more; a CPU emulation gives the CPU's bits).
    gpu = clf.shap_values(X[:100], device="gpu")
    largest = np.abs(values).max(axis=(1, 2), keepdims=True)
    assert (np.abs(gpu - values) <= 1e-6 * largest).all()
    Xr, yr = make_regression(300, 5, random_state=6)
    reg = RandomForestRegressor(n_estimators=10, random_state=0, device="cpu").fit(Xr, yr)
    v = reg.shap_values(Xr[:20])
    assert v.shape == (20, 5)
    np.testing.assert_allclose(
        reg.shap_expected_value() + v.sum(axis=1), reg.predict(Xr[:20]), rtol=1e-5, atol=1e-3
    )


def test_a_model_without_covers_is_explained_from_background_rows(tmp_path):
    X, y = make_classification(400, 6, random_state=7)
    clf = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(X, y)
    clf.save(tmp_path / "m.onnx")
    onnx = gpuforest.load(tmp_path / "m.onnx")  # ONNX keeps no covers
    with pytest.raises(ValueError, match="background"):
        onnx.shap_values(X[:5])
    with pytest.raises(ValueError, match="features"):
        onnx.shap_values(X[:5], background=X[:, :3])
    v = onnx.shap_values(X[:50], background=X)
    total = onnx.shap_expected_value(background=X) + v.sum(axis=1)
    np.testing.assert_allclose(total, onnx.predict_proba(X[:50]), rtol=0, atol=1e-5)


def test_a_threshold_in_the_model_file_decides_predict(tmp_path):
    df = table()
    clf = RandomForestClassifier(n_estimators=15, random_state=3).fit(df.drop(columns="y"), df["y"])
    clf.save(tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    # A threshold between two rows' probabilities, so some labels change.
    p1 = clf.predict_proba(df.drop(columns="y"))[:, 1]
    doc["threshold"] = float(np.float32(0.7))
    (tmp_path / "t.json").write_text(json.dumps(doc))
    loaded = gpuforest.load(tmp_path / "t.json")
    got = loaded.predict(df.drop(columns="y"))
    want = np.where(p1.astype(np.float64) >= np.float32(0.7), 1, 0)
    assert (got == want).all()
    assert (got != clf.predict(df.drop(columns="y"))).any()
    # The probabilities do not change with it; a pickle keeps it.
    assert (loaded.predict_proba(df.drop(columns="y")) == clf.predict_proba(df.drop(columns="y"))).all()
    assert (pickle.loads(pickle.dumps(loaded)).predict(df.drop(columns="y")) == got).all()
