//! `gpuforest._engine`: the library's training, scoring and model files, reached from Python.
//! The estimators, the input checks and scikit-learn's conventions are the package's Python
//! (`python/gpuforest/`); this file only moves data across and releases the GIL around the
//! work. Rows to score are read in place when they are a C-ordered `float32` array.

use gpuforest::data::{Given, Schema, Table, Task};
use gpuforest::explain::{Explainer, Explanation, covers_from_rows};
use gpuforest::flat::PlannedForest;
use gpuforest::forest::Params;
use gpuforest::gpu::{GPU_FROM_ROWS, GpuContext, GpuExplainer, GpuForest, Kernel};
use gpuforest::model::Model;
use gpuforest::model::arrays::{TreeArrays, forest_from_arrays};
use gpuforest::pipeline::{
    Columns, EncodedSplit, Group, TrainOptions, prepare_weighted, train_and_evaluate,
};
use gpuforest::protocol::frame::{
    Message, decode_dataset, decode_shard, encode_dataset, encode_shard,
};
use numpy::{
    PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

fn py_err(e: gpuforest::Error) -> PyErr {
    match e {
        gpuforest::Error::Gpu(_) => PyRuntimeError::new_err(e.to_string()),
        gpuforest::Error::Io(_) => PyOSError::new_err(e.to_string()),
        e => PyValueError::new_err(e.to_string()),
    }
}

/// A pool of `n` threads, made once per size (`None` or 0: rayon's global pool, every core).
fn pool(n_jobs: Option<usize>) -> PyResult<Option<Arc<rayon::ThreadPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let Some(n) = n_jobs.filter(|&n| n > 0 && n != rayon::current_num_threads()) else {
        return Ok(None);
    };
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&n) {
        return Ok(Some(p.clone()));
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start {n} threads: {e}")))?,
    );
    pools.insert(n, p.clone());
    Ok(Some(p))
}

/// Runs `f` on `n_jobs` threads without the GIL.
fn on_threads<T: Send>(
    py: Python<'_>,
    n_jobs: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let pool = pool(n_jobs)?;
    Ok(py.detach(move || match pool {
        Some(p) => p.install(f),
        None => f(),
    }))
}

/// The process's GPU, opened on first use: the most capable adapter wgpu finds.
fn gpu_context() -> std::result::Result<GpuContext, String> {
    static GPU: OnceLock<std::result::Result<GpuContext, String>> = OnceLock::new();
    GPU.get_or_init(|| pollster::block_on(GpuContext::new()).map_err(|e| e.to_string()))
        .clone()
}

/// Columns as the package hands them over: a float64 array (numbers, NaN missing) or a list
/// of str (cells read as a CSV file's).
fn given_columns(columns: Vec<Bound<'_, PyAny>>, headers: &[String]) -> PyResult<Vec<Given>> {
    columns
        .into_iter()
        .zip(headers)
        .map(|(c, name)| {
            if let Ok(a) = c.extract::<PyReadonlyArray1<f64>>() {
                Ok(Given::Numbers(a.as_array().to_vec()))
            } else if let Ok(v) = c.extract::<Vec<String>>() {
                Ok(Given::Text(v))
            } else {
                Err(PyValueError::new_err(format!(
                    "column \"{name}\" is neither float64 numbers nor a list of str"
                )))
            }
        })
        .collect()
}

fn table(headers: Vec<String>, columns: Vec<Bound<'_, PyAny>>) -> PyResult<Table> {
    let given = given_columns(columns, &headers)?;
    Table::from_columns(headers, given).map_err(py_err)
}

fn parse_task(task: &str) -> PyResult<Task> {
    match task {
        "classification" => Ok(Task::Classification),
        "regression" => Ok(Task::Regression),
        t => Err(PyValueError::new_err(format!(
            "task \"{t}\": classification or regression"
        ))),
    }
}

fn parse_params(json: &str) -> PyResult<Params> {
    serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("parameters: {e}")))
}

fn message_of(m: (String, Vec<Vec<u8>>)) -> Message {
    Message {
        header: m.0,
        buffers: m.1,
    }
}

fn message_to_py<'py>(py: Python<'py>, m: Message) -> (String, Vec<Bound<'py, PyBytes>>) {
    (
        m.header,
        m.buffers.iter().map(|b| PyBytes::new(py, b)).collect(),
    )
}

/// Rows encoded for training, with what `fit` was asked (kept between the steps of a Dask fit).
#[pyclass(frozen, module = "gpuforest._engine")]
struct Prepared {
    split: EncodedSplit,
    opts: TrainOptions,
}

/// Encodes `columns` for training `target` (the last of them): every other column is a
/// feature (none is left out as ID-like: the caller chose them). `classes`, in class-index
/// order, name the classes when the target holds class indices.
#[pyfunction]
#[pyo3(signature = (headers, columns, target, task, params, classes=None, sample_weight=None))]
#[allow(clippy::too_many_arguments)]
fn prepare(
    py: Python<'_>,
    headers: Vec<String>,
    columns: Vec<Bound<'_, PyAny>>,
    target: String,
    task: &str,
    params: &str,
    classes: Option<Vec<String>>,
    sample_weight: Option<PyReadonlyArray1<f64>>,
) -> PyResult<Prepared> {
    let task = parse_task(task)?;
    let params = parse_params(params)?;
    let keep: Vec<String> = headers.iter().filter(|h| **h != target).cloned().collect();
    let t = table(headers, columns)?;
    let weights = sample_weight.map(|w| w.as_array().to_vec());
    let opts = TrainOptions {
        target,
        task: Some(task),
        params,
        test_fraction: 0.0,
        stratify: false,
        columns: Columns {
            drop: Vec::new(),
            keep,
            group: Group::None,
        },
    };
    let mut split = py
        .detach(|| prepare_weighted(&t, weights.as_deref(), &opts))
        .map_err(py_err)?;
    if let Some(names) = classes {
        if names.len() != split.schema.classes.len() {
            return Err(PyValueError::new_err(format!(
                "{} class names for {} classes",
                names.len(),
                split.schema.classes.len()
            )));
        }
        split.schema.classes = names;
    }
    Ok(Prepared { split, opts })
}

#[pymethods]
impl Prepared {
    /// Trains on every prepared row, on `n_jobs` threads (default: every core).
    #[pyo3(signature = (n_jobs=None))]
    fn train(&self, py: Python<'_>, n_jobs: Option<usize>) -> PyResult<PyModel> {
        let (model, _) = on_threads(py, n_jobs, || {
            train_and_evaluate(&self.split, &self.opts, &|| {})
        })?
        .map_err(py_err)?;
        Ok(PyModel::new(model))
    }

    /// The encoded rows, as the page's workers receive them: a JSON header and buffers.
    fn dataset<'py>(&self, py: Python<'py>) -> (String, Vec<Bound<'py, PyBytes>>) {
        message_to_py(py, encode_dataset(&self.split.train))
    }

    /// The training rows' sample weights, in the encoded rows' order.
    fn weights<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.split
            .train_weights
            .clone()
            .map(|w| PyArray1::from_vec(py, w))
    }

    /// The parameters as JSON (for the workers).
    fn params(&self) -> String {
        serde_json::to_string(&self.opts.params).expect("parameters serialize")
    }

    /// Merges the shards that workers grew ([`grow_shard`]) into the model one machine trains.
    fn merge(&self, py: Python<'_>, shards: Vec<(String, Vec<Vec<u8>>)>) -> PyResult<PyModel> {
        let split = &self.split;
        let model = py
            .detach(|| {
                let shards = shards
                    .into_iter()
                    .map(|m| decode_shard(&message_of(m)))
                    .collect::<gpuforest::Result<Vec<_>>>()?;
                let mut model = gpuforest::tree_shards::merge(
                    shards,
                    split.schema.clone(),
                    self.opts.params.clone(),
                    split.train.n_features,
                    &split.train.target,
                )?;
                model.id_columns = split.id_columns();
                model.split = Some(split.split_rule(self.opts.params.seed));
                Ok(model)
            })
            .map_err(py_err)?;
        Ok(PyModel::new(model))
    }
}

/// Grows trees `start..end` of the forest `params` describes over the encoded rows `dataset`
/// ([`Prepared::dataset`]), on `n_jobs` threads: one worker's shard of a Dask fit.
#[pyfunction]
#[pyo3(signature = (dataset, params, start, end, sample_weight=None, n_jobs=None))]
fn grow_shard<'py>(
    py: Python<'py>,
    dataset: (String, Vec<Vec<u8>>),
    params: &str,
    start: usize,
    end: usize,
    sample_weight: Option<PyReadonlyArray1<f64>>,
    n_jobs: Option<usize>,
) -> PyResult<(String, Vec<Bound<'py, PyBytes>>)> {
    let params = parse_params(params)?;
    let weights = sample_weight.map(|w| w.as_array().to_vec());
    let m = message_of(dataset);
    let shard = on_threads(py, n_jobs, || {
        let d = decode_dataset(&m)?;
        gpuforest::tree_shards::grow(&d, weights.as_deref(), &params, start..end, &|| {})
    })?
    .map_err(py_err)?;
    Ok(message_to_py(py, encode_shard(&shard)))
}

/// Rows kept on the GPU by [`PyModel::upload`].
#[pyclass(frozen, module = "gpuforest._engine")]
struct GpuRows {
    rows: gpuforest::gpu::Resident,
    n_rows: usize,
}

/// A model, with its forest uploaded to the GPU once it has scored there.
#[pyclass(frozen, name = "Model", module = "gpuforest._engine")]
struct PyModel {
    model: Model,
    /// The forest with its CPU walk planned once (an O(nodes) check that each call would
    /// otherwise repeat).
    planned: PlannedForest,
    gpu: Mutex<Option<GpuForest>>,
    /// The forest's decision paths weighed by its own covers, made on first explanation.
    explainer: Mutex<Option<Arc<Explainer>>>,
    /// Those paths on the GPU, uploaded on first use there.
    gpu_explainer: Mutex<Option<GpuExplainer>>,
}

impl PyModel {
    fn new(model: Model) -> PyModel {
        PyModel {
            planned: PlannedForest::new(model.forest.clone()),
            model,
            gpu: Mutex::new(None),
            explainer: Mutex::new(None),
            gpu_explainer: Mutex::new(None),
        }
    }

    /// The explainer of the model's own covers (made once), or of covers counted from
    /// `background` rows.
    fn explainer(&self, background: Option<&[f32]>) -> gpuforest::Result<Arc<Explainer>> {
        let f = &self.model.forest;
        if let Some(b) = background {
            return Ok(Arc::new(Explainer::with_covers(
                f,
                &covers_from_rows(f, b),
            )?));
        }
        let mut e = self.explainer.lock().unwrap_or_else(|e| e.into_inner());
        if e.is_none() {
            *e = Some(Arc::new(Explainer::new(f)?));
        }
        Ok(e.as_ref().expect("made above").clone())
    }

    /// The model's forest on the GPU, uploaded on first use (again after a lost device).
    fn gpu(&self) -> gpuforest::Result<std::sync::MutexGuard<'_, Option<GpuForest>>> {
        let mut gpu = self.gpu.lock().unwrap_or_else(|e| e.into_inner());
        let stale = gpu.as_ref().is_some_and(|g| g.context().lost().is_some());
        if gpu.is_none() || stale {
            let ctx = gpu_context().map_err(gpuforest::Error::Gpu)?;
            *gpu = Some(GpuForest::new(ctx, &self.model.forest, None)?);
        }
        Ok(gpu)
    }

    /// Scores `x` on the GPU; the name of the adapter that ran.
    fn predict_gpu(&self, x: &[f32]) -> gpuforest::Result<(Vec<f32>, String)> {
        let mut gpu = self.gpu()?;
        let g = gpu.as_mut().expect("opened by gpu()");
        let name = describe(g.context());
        Ok((g.predict_blocking(x, Kernel::Auto)?.outputs, name))
    }
}

/// An adapter's name, saying so when it is a CPU emulation.
fn describe(ctx: &GpuContext) -> String {
    if ctx.is_software() {
        format!("{} (a CPU emulation of a GPU)", ctx.adapter_name())
    } else {
        ctx.adapter_name()
    }
}

#[pymethods]
impl PyModel {
    /// Reads a model file's bytes: this program's JSON or an ONNX tree ensemble.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, bytes: Vec<u8>) -> PyResult<PyModel> {
        let m = py.detach(|| Model::from_bytes(&bytes)).map_err(py_err)?;
        Ok(PyModel::new(m))
    }

    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| self.model.to_saved_json()).map_err(py_err)
    }

    fn to_onnx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = py.detach(|| self.model.to_onnx()).map_err(py_err)?;
        Ok(PyBytes::new(py, &b))
    }

    /// What the package shows of the model, as JSON: its schema, figures and shape.
    fn summary(&self) -> String {
        let m = &self.model;
        serde_json::json!({
            "task": m.task().name(),
            "target": m.schema.target,
            "classes": m.schema.classes,
            "features": m.schema.features,
            "importances": m.importances,
            "oob_score": m.oob_score,
            "train_rows": m.train_rows,
            "params": m.params,
            "n_trees": m.forest.n_trees(),
            "n_nodes": m.forest.n_nodes(),
            "n_outputs": m.forest.n_outputs,
            "imported": m.imported_summary(),
            "threshold": m.threshold,
        })
        .to_string()
    }

    /// The outputs (class probabilities, or the value) of the rows of `x`, a C-ordered
    /// float32 array read in place, and where they were computed. `device`: `cpu`, `gpu`, or
    /// `auto` (the GPU from `GPU_FROM_ROWS` rows when it is a real one).
    #[pyo3(signature = (x, device="cpu", n_jobs=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        device: &str,
        n_jobs: Option<usize>,
    ) -> PyResult<(Bound<'py, PyArray2<f32>>, String)> {
        let (rows, width) = (x.shape()[0], x.shape()[1]);
        let nf = self.model.forest.n_features as usize;
        if width != nf {
            return Err(PyValueError::new_err(format!(
                "rows of {width} features; the model reads {nf}"
            )));
        }
        let x = x
            .as_slice()
            .map_err(|_| PyValueError::new_err("rows must be a C-ordered float32 array"))?;
        let cpu = |x: &[f32]| {
            let threads = rayon::current_num_threads();
            (self.planned.predict(x), format!("cpu ({threads} threads)"))
        };
        let run = |x: &[f32]| -> gpuforest::Result<(Vec<f32>, String)> {
            match device {
                "cpu" => Ok(cpu(x)),
                "gpu" => self.predict_gpu(x),
                "auto" => {
                    if rows < GPU_FROM_ROWS {
                        return Ok(cpu(x));
                    }
                    match gpu_context() {
                        Ok(ctx) if !ctx.is_software() => self.predict_gpu(x),
                        _ => Ok(cpu(x)),
                    }
                }
                d => Err(gpuforest::Error::InvalidParam(format!(
                    "device \"{d}\": use auto, cpu or gpu"
                ))),
            }
        };
        let (out, ran) = on_threads(py, n_jobs, || run(x))?.map_err(py_err)?;
        let n_out = self.model.forest.n_outputs as usize;
        let out = PyArray1::from_vec(py, out).reshape([rows, n_out])?;
        Ok((out, ran))
    }

    /// SHAP values (exact, path-dependent TreeSHAP) of the rows of `x`, a C-ordered float32
    /// array: `(values [rows, outputs, features], expected value per output, what ran)`.
    /// `device`: `cpu`, `gpu`, or `auto` (a real GPU when there is one). `background`: rows the
    /// covers are counted from (for models without covers).
    #[pyo3(signature = (x, device="cpu", background=None, n_jobs=None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        device: &str,
        background: Option<PyReadonlyArray2<'py, f32>>,
        n_jobs: Option<usize>,
    ) -> PyResult<(Bound<'py, PyArray3<f32>>, Bound<'py, PyArray1<f32>>, String)> {
        let nf = self.model.forest.n_features as usize;
        fn rows_of<'a>(
            a: &'a PyReadonlyArray2<'_, f32>,
            nf: usize,
            what: &str,
        ) -> PyResult<&'a [f32]> {
            if a.shape()[1] != nf {
                return Err(PyValueError::new_err(format!(
                    "{what} of {} features; the model reads {nf}",
                    a.shape()[1]
                )));
            }
            a.as_slice().map_err(|_| {
                PyValueError::new_err(format!("{what} must be a C-ordered float32 array"))
            })
        }
        let rows = x.shape()[0];
        let xs = rows_of(&x, nf, "rows")?;
        let bg = background
            .as_ref()
            .map(|b| rows_of(b, nf, "background rows"))
            .transpose()?;
        let run = || -> gpuforest::Result<(Explanation, String)> {
            let e = self.explainer(bg)?;
            e.check_rows(rows)?;
            let device = match device {
                "auto" => match gpu_context() {
                    Ok(ctx) if !ctx.is_software() => "gpu",
                    _ => "cpu",
                },
                d => d,
            };
            let (sums, ran) = match device {
                "cpu" => (
                    e.sums(xs),
                    format!("cpu ({} threads)", rayon::current_num_threads()),
                ),
                "gpu" => {
                    let ctx = gpu_context().map_err(gpuforest::Error::Gpu)?;
                    let name = describe(&ctx);
                    if bg.is_some() {
                        (GpuExplainer::new(ctx, &e)?.sums_blocking(xs)?, name)
                    } else {
                        // The model's own paths stay on the GPU between calls.
                        let mut g = self.gpu_explainer.lock().unwrap_or_else(|e| e.into_inner());
                        if g.as_ref().is_none_or(|g| g.context().lost().is_some()) {
                            *g = Some(GpuExplainer::new(ctx, &e)?);
                        }
                        let g = g.as_mut().expect("made above");
                        (g.sums_blocking(xs)?, name)
                    }
                }
                d => {
                    return Err(gpuforest::Error::InvalidParam(format!(
                        "device \"{d}\": use auto, cpu or gpu"
                    )));
                }
            };
            Ok((e.finish(&sums), ran))
        };
        let (e, ran) = on_threads(py, n_jobs, run)?.map_err(py_err)?;
        let values = PyArray1::from_vec(py, e.values).reshape([rows, e.n_outputs, nf])?;
        Ok((values, PyArray1::from_vec(py, e.expected), ran))
    }

    /// Uploads rows (a C-ordered float32 array) to the GPU, where they stay for
    /// [`Self::score_rows`]: the GPU's figure without the upload.
    fn upload(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f32>) -> PyResult<GpuRows> {
        let n_rows = x.shape()[0];
        let x = x
            .as_slice()
            .map_err(|_| PyValueError::new_err("rows must be a C-ordered float32 array"))?;
        let rows = py
            .detach(|| {
                let mut gpu = self.gpu()?;
                pollster::block_on(gpu.as_mut().expect("opened by gpu()").upload(x))
            })
            .map_err(py_err)?;
        Ok(GpuRows { rows, n_rows })
    }

    /// Scores rows already on the GPU ([`Self::upload`]); the outputs come back to the host.
    fn score_rows<'py>(
        &self,
        py: Python<'py>,
        rows: &GpuRows,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let out = py
            .detach(|| {
                let mut gpu = self.gpu.lock().unwrap_or_else(|e| e.into_inner());
                let g = gpu
                    .as_mut()
                    .ok_or_else(|| gpuforest::Error::Gpu("no rows were uploaded".into()))?;
                Ok::<_, gpuforest::Error>(
                    pollster::block_on(g.score(&rows.rows, Kernel::Auto))?.outputs,
                )
            })
            .map_err(py_err)?;
        let n_out = self.model.forest.n_outputs as usize;
        Ok(PyArray1::from_vec(py, out).reshape([rows.n_rows, n_out])?)
    }

    /// The model's features of the columns given (by name; an imported model's in order),
    /// encoded as training encoded them: a C-ordered float32 array.
    fn features_of<'py>(
        &self,
        py: Python<'py>,
        headers: Vec<String>,
        columns: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let t = table(headers, columns)?;
        let x = py.detach(|| self.model.features_of(&t)).map_err(py_err)?;
        let nf = self.model.forest.n_features as usize;
        let rows = x.len() / nf.max(1);
        Ok(PyArray1::from_vec(py, x).reshape([rows, nf])?)
    }
}

/// A model of trees given as scikit-learn's node arrays: each tree a tuple
/// `(children_left, children_right, feature, threshold, missing_go_to_left or None, value,
/// weighted_n_node_samples)`, `value` flattened to `n_nodes x n_outputs`. `schema` is the model's schema as JSON.
#[pyfunction]
fn from_arrays(
    py: Python<'_>,
    trees: Vec<(
        PyReadonlyArray1<i64>,
        PyReadonlyArray1<i64>,
        PyReadonlyArray1<i64>,
        PyReadonlyArray1<f64>,
        Option<PyReadonlyArray1<u8>>,
        PyReadonlyArray1<f64>,
        PyReadonlyArray1<f64>,
    )>,
    schema: &str,
    importances: Vec<f64>,
    origin: (String, String, String),
) -> PyResult<PyModel> {
    let schema: Schema =
        serde_json::from_str(schema).map_err(|e| PyValueError::new_err(format!("schema: {e}")))?;
    // The arrays are read in place (borrowed while the GIL is released).
    let not_contiguous = |_| PyValueError::new_err("node arrays must be contiguous");
    let mut arrays = Vec::with_capacity(trees.len());
    for (l, r, f, t, m, v, c) in &trees {
        arrays.push(TreeArrays {
            left: l.as_slice().map_err(not_contiguous)?,
            right: r.as_slice().map_err(not_contiguous)?,
            feature: f.as_slice().map_err(not_contiguous)?,
            threshold: t.as_slice().map_err(not_contiguous)?,
            missing_left: m
                .as_ref()
                .map(|m| m.as_slice())
                .transpose()
                .map_err(not_contiguous)?,
            value: v.as_slice().map_err(not_contiguous)?,
            cover: Some(c.as_slice().map_err(not_contiguous)?),
        });
    }
    let forest = py
        .detach(|| forest_from_arrays(&arrays, &schema))
        .map_err(py_err)?;
    let mut model = Model::from_parts(schema, Params::default(), forest, importances, None, 0);
    model.imported = Some(gpuforest::onnx::Origin {
        format: origin.0,
        op: origin.1,
        producer: origin.2,
    });
    Ok(PyModel::new(model))
}

/// What the GPU is, or why there is none (opens it on first call).
#[pyfunction]
fn gpu_adapter() -> PyResult<String> {
    gpu_context()
        .map(|c| describe(&c))
        .map_err(PyRuntimeError::new_err)
}

/// Threads that scoring and training use by default (every core).
#[pyfunction]
fn default_threads() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_class::<Prepared>()?;
    m.add_class::<GpuRows>()?;
    m.add_function(wrap_pyfunction!(prepare, m)?)?;
    m.add_function(wrap_pyfunction!(grow_shard, m)?)?;
    m.add_function(wrap_pyfunction!(from_arrays, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_adapter, m)?)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    m.add("GPU_FROM_ROWS", GPU_FROM_ROWS)?;
    m.add("FORMAT", gpuforest::model::FORMAT)?;
    Ok(())
}
