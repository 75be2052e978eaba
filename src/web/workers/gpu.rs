//! The GPU, in the data worker. The page's thread never waits on WebGPU: compiling the
//! pipelines of a first run, filling staging buffers with rows and finishing the outputs all
//! happen here. The page opens the device, gives it each model's forest and sends the rows to
//! time (the same bytes its CPU workers score); the figures and outputs go back.

use crate::error::{Error, Result};
use crate::explain::Explainer;
use crate::flat::FlatForest;
use crate::gpu::{GpuContext, GpuExplainer, GpuForest, Kernel, Upload};
use crate::protocol::views::GPU_RUNS;
use crate::protocol::{GpuAdapter, GpuTiming, Outcome};
use crate::web::common::{bits_differ, median, now_ms};
use forest_scoring::treeshap::ELEMENT_WORDS;
use serde_json::json;
use std::cell::{Cell, RefCell};

/// The device, and the forest of one model (named by the page's model generation) on it.
struct Side {
    ctx: GpuContext,
    adapter: GpuAdapter,
    forest: Option<Loaded>,
}

struct Loaded {
    model: u64,
    gpu: GpuForest,
    /// The CPU's oracle for the kernel variants.
    flat: FlatForest,
    /// The forest's paths on the GPU, made at its first explanation.
    explainer: Option<GpuExplainer>,
}

/// Path elements times rows explained in one dispatch at most: a browser stops a GPU that
/// runs one dispatch for seconds (its watchdog loses the device), and a laptop's GPU is tens
/// of times slower than a server's. The 200-tree depth-12 forest of the benchmarks gets a
/// few hundred rows a dispatch (tens of ms on an H200), each dispatch's readback about 3 ms.
const WORK_PER_DISPATCH: usize = 1 << 30;

thread_local! {
    static SIDE: RefCell<Option<Side>> = const { RefCell::new(None) };
    /// Counts the page's cancels: a timing that sees it change stops after its current run.
    static CANCELS: Cell<u64> = const { Cell::new(0) };
}

/// Stops the timing in progress (called as the message arrives, not in turn).
pub fn cancel() {
    CANCELS.with(|c| c.set(c.get() + 1));
}

/// A timing's check between runs.
#[derive(Clone, Copy)]
struct CancelCheck(u64);

impl CancelCheck {
    fn new() -> CancelCheck {
        CancelCheck(CANCELS.with(Cell::get))
    }

    fn check(self) -> Result<()> {
        if CANCELS.with(Cell::get) == self.0 {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }
}

/// Opens the device (once; again after it was lost): what it is and whether kernels can be
/// timed.
pub async fn open() -> Result<GpuAdapter> {
    if let Some(r) = SIDE.with(|s| {
        s.borrow()
            .as_ref()
            .filter(|s| s.ctx.lost().is_none())
            .map(|s| s.adapter.clone())
    }) {
        return Ok(r);
    }
    let ctx = GpuContext::new().await?;
    let (mut name, fallback) = browser_adapter().await;
    if name.is_empty() {
        let i = &ctx.adapter_info;
        name = format!("{} ({:?})", i.name, i.device_type);
    }
    let lower = name.to_lowercase();
    let adapter = GpuAdapter {
        software: fallback
            || ctx.is_software()
            || ["swiftshader", "llvmpipe", "lavapipe", "software"]
                .iter()
                .any(|s| lower.contains(s)),
        name,
        timestamps: ctx.timestamps,
    };
    SIDE.with(|s| {
        *s.borrow_mut() = Some(Side {
            ctx,
            adapter: adapter.clone(),
            forest: None,
        })
    });
    Ok(adapter)
}

/// "vendor · architecture · description" from WebGPU's own adapter info, which names the
/// GPU better than wgpu's (empty in Chrome), and whether WebGPU calls it a fallback adapter
/// (a software one).
async fn browser_adapter() -> (String, bool) {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::JsCast;
    let get = |o: &wasm_bindgen::JsValue, k: &str| Reflect::get(o, &k.into()).ok();
    let r = async {
        let navigator = get(&js_sys::global(), "navigator")?;
        let gpu = get(&navigator, "gpu")?;
        let request: Function = get(&gpu, "requestAdapter")?.dyn_into().ok()?;
        let p: Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
        let adapter = wasm_bindgen_futures::JsFuture::from(p).await.ok()?;
        let info = get(&adapter, "info")?;
        let parts: Vec<String> = ["vendor", "architecture", "description"]
            .iter()
            .filter_map(|k| get(&info, k)?.as_string())
            .filter(|s| !s.is_empty())
            .collect();
        // `info.isFallbackAdapter` in current Chrome, `adapter.isFallbackAdapter` before.
        let fallback = [&info, &adapter]
            .iter()
            .any(|o| get(o, "isFallbackAdapter").and_then(|v| v.as_bool()) == Some(true));
        Some((parts.join(" · "), fallback))
    }
    .await;
    r.unwrap_or_default()
}

/// Puts `forest` on the GPU as model `model`, in place of the one before.
pub fn load(model: u64, forest: FlatForest) -> Result<()> {
    SIDE.with(|s| {
        let mut s = s.borrow_mut();
        let side = s
            .as_mut()
            .ok_or_else(|| Error::Gpu("the GPU is not open".into()))?;
        side.forest = None;
        let gpu = GpuForest::new(side.ctx.clone(), &forest, None)?;
        side.forest = Some(Loaded {
            model,
            gpu,
            flat: forest,
            explainer: None,
        });
        Ok(())
    })
}

/// Whether a batch of `rows` rows ran before (its kernels compiled and measured).
pub fn tuned(rows: usize) -> bool {
    SIDE.with(|s| {
        s.borrow()
            .as_ref()
            .and_then(|s| s.forest.as_ref())
            .is_some_and(|f| f.gpu.tuned_for(rows).is_some())
    })
}

/// Runs `job` on model `model`'s forest, taken out for the while (requests come one at a time).
async fn with_forest<T>(
    model: u64,
    job: impl AsyncFnOnce(&mut Loaded) -> Result<T>,
) -> Result<Outcome<T>> {
    let mut f = SIDE.with(|s| {
        let mut s = s.borrow_mut();
        let side = s
            .as_mut()
            .ok_or_else(|| Error::Gpu("the GPU is not open".into()))?;
        match side.forest.take() {
            Some(f) if f.model == model => Ok(f),
            other => {
                side.forest = other;
                Err(Error::Gpu("the GPU holds another model".into()))
            }
        }
    })?;
    let r = job(&mut f).await;
    if let Some(why) = f.gpu.context().lost() {
        SIDE.with(|s| *s.borrow_mut() = None);
        return Ok(Outcome::Lost(why));
    }
    SIDE.with(|s| {
        if let Some(side) = s.borrow_mut().as_mut() {
            side.forest.get_or_insert(f);
        }
    });
    r.map(Outcome::Done)
}

/// Keeps the GPU busy this long before timing: after the CPU's run it idles at low clocks
/// (the native harness does the same, `forest bench --gpu-warmup-ms`).
const GPU_WARMUP_MS: f64 = 200.0;

/// Times model `model` on `x`: uploads it and scores it untimed for [`GPU_WARMUP_MS`], which
/// also pays the one-off costs (the browser compiling pipelines, the tuner measuring the kernel
/// variants on this batch size, buffers growing); then scores it [`GPU_RUNS`] times end to end
/// (rows uploaded each time) and [`GPU_RUNS`] times while it stays on the GPU. Both must give
/// the same bits. Returns the figures and the outputs.
pub async fn time(model: u64, x: &[f32]) -> Result<Outcome<(GpuTiming, Vec<f32>)>> {
    let ticket = CancelCheck::new();
    with_forest(model, async |f| timed(ticket, &mut f.gpu, x).await).await
}

async fn timed(
    ticket: CancelCheck,
    gpu: &mut GpuForest,
    x: &[f32],
) -> Result<(GpuTiming, Vec<f32>)> {
    let now = now_ms;
    let resident = gpu.upload(x).await?;
    let t0 = now();
    let mut again = gpu.score(&resident, Kernel::Auto).await?;
    while now() - t0 < GPU_WARMUP_MS {
        ticket.check()?;
        again = gpu.score(&resident, Kernel::Auto).await?;
    }
    let mut run = gpu.predict(x, Kernel::Auto).await?;
    let (mut e2e, mut kernel) = (Vec::new(), Vec::new());
    for _ in 0..GPU_RUNS {
        ticket.check()?;
        let t0 = now();
        run = gpu.predict(x, Kernel::Auto).await?;
        e2e.push(now() - t0);
        kernel.extend(run.kernel_ms);
    }
    let (mut res, mut res_kernel) = (Vec::new(), Vec::new());
    for _ in 0..GPU_RUNS {
        ticket.check()?;
        let t0 = now();
        again = gpu.score(&resident, Kernel::Auto).await?;
        res.push(now() - t0);
        res_kernel.extend(again.kernel_ms);
    }
    if bits_differ(&run.outputs, &again.outputs) > 0 {
        return Err(Error::Gpu(
            "rows kept on the GPU scored differently from rows uploaded anew".into(),
        ));
    }
    let mut timing = GpuTiming {
        e2e_ms: median(e2e),
        kernel_ms: (kernel.len() == GPU_RUNS).then(|| median(kernel)),
        resident_ms: median(res),
        resident_kernel_ms: (res_kernel.len() == GPU_RUNS).then(|| median(res_kernel)),
        kernel_dropped: false,
        variant: run.variant.name(),
        phases: run.phases,
    };
    timing.keep_kernel_within_runs();
    Ok((timing, run.outputs))
}

/// Benchmark mode: `x` scored with every kernel variant that fits, a line each with its kernel
/// time and how many outputs differ in their bits from the CPU's (the e2e tests require none).
pub async fn variants(model: u64, x: &[f32]) -> Result<Outcome<Vec<serde_json::Value>>> {
    with_forest(model, async |f| {
        let rows = x.len() / f.flat.n_features.max(1) as usize;
        let cpu = f.flat.predict(x);
        let resident = f.gpu.upload(x).await?;
        let mut lines = Vec::new();
        for v in f.gpu.candidates().to_vec() {
            let run = f.gpu.score(&resident, Kernel::Fixed(v)).await?;
            lines.push(
                json!({"bench": "variant", "rows": rows, "variant": v.name(),
                "gpu_kernel_ms": run.kernel_ms, "bits_differ": bits_differ(&cpu, &run.outputs)}),
            );
        }
        Ok(lines)
    })
    .await
}

/// Benchmark mode: end-to-end and kernel time of `x` for each split in `parts`, with rows
/// uploaded through the staging buffers and through `writeBuffer`, a line each. The forest
/// keeps the last split (the next model gets the default again) and the staging upload.
pub async fn parts(
    model: u64,
    x: &[f32],
    parts: &[usize],
) -> Result<Outcome<Vec<serde_json::Value>>> {
    let ticket = CancelCheck::new();
    with_forest(model, async |f| {
        let rows = x.len() / f.flat.n_features.max(1) as usize;
        let mut lines = Vec::new();
        let mut r = Ok(());
        'paths: for upload in [Upload::Staging, Upload::WriteBuffer] {
            f.gpu.set_upload(upload);
            for &p in parts {
                f.gpu.set_parts(p, 0);
                let t = match timed(ticket, &mut f.gpu, x).await {
                    Ok((t, _)) => t,
                    Err(e) => {
                        r = Err(e);
                        break 'paths;
                    }
                };
                let ph = t.phases;
                lines.push(json!({"bench": "parts", "rows": rows, "parts": p,
                    "upload": format!("{upload:?}"), "gpu_ms": t.e2e_ms, "gpu_kernel_ms": t.kernel_ms,
                    "gpu_resident_ms": t.resident_ms, "gpu_submit_ms": ph.submit_ms,
                    "gpu_wait_ms": ph.wait_ms, "gpu_read_ms": ph.read_ms}));
            }
        }
        // Scoring goes on through the staging buffers, whatever happened.
        f.gpu.set_upload(Upload::Staging);
        r.map(|()| lines)
    })
    .await
}

/// The TreeSHAP sums of `x` with model `model`, and the milliseconds from the rows' upload to
/// the sums read back. The first explanation of a model makes its paths and runs one row
/// untimed first (the browser compiles the kernels then).
pub async fn explain(model: u64, x: &[f32]) -> Result<Outcome<(f64, Vec<f32>)>> {
    with_forest(model, async |f| {
        let nf = f.flat.n_features.max(1) as usize;
        super::whole_rows(x, nf)?;
        let g = match &mut f.explainer {
            Some(g) => g,
            None => {
                let e = Explainer::new(&f.flat)?;
                let mut g = GpuExplainer::new(f.gpu.context().clone(), &e)?;
                let elements = e.paths().elements.len() / ELEMENT_WORDS;
                g.limit_chunk_rows(WORK_PER_DISPATCH / elements.max(1));
                g.sums(&x[..nf.min(x.len())]).await?;
                f.explainer.insert(g)
            }
        };
        let t0 = now_ms();
        let sums = g.sums(x).await?;
        Ok((now_ms() - t0, sums))
    })
    .await
}
