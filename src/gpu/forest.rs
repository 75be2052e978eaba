//! A flattened forest uploaded once to the GPU, scoring batches of rows.
//!
//! - Rows reach the GPU through reused mapped staging buffers (one per part of a batch), each
//!   re-mapped as soon as its copy is submitted, so the next batch finds it ready; or through
//!   `queue.write_buffer` ([`Upload::WriteBuffer`]), kept to measure against.
//! - A batch larger than the device's storage-binding limit is scored in chunks. A chunk can be
//!   split in parts, each uploaded and submitted on its own, so uploads overlap scoring.
//! - Rows can stay on the GPU ([`GpuForest::upload`], [`GpuForest::score`]) for repeated runs.
//! - Which kernel variant runs is measured per batch-size bucket on the rows themselves and
//!   remembered ([`GpuForest::tuning`]).

use super::context::GpuContext;
use super::kernels::Variant;
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use std::collections::{BTreeMap, HashMap};
use wgpu::util::DeviceExt;

/// Which kernel scores a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// The fastest variant measured for this batch size on this device (measured on first use).
    Auto,
    Fixed(Variant),
}

/// How rows reach the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// Copied into a reused, already mapped staging buffer, then copied on the GPU.
    Staging,
    /// `queue.write_buffer`.
    WriteBuffer,
}

/// Scores and timings of one batch.
#[derive(Debug, Clone)]
pub struct GpuRun {
    /// `n_rows` x `n_outputs`, as [`FlatForest::predict`] returns them.
    pub outputs: Vec<f32>,
    /// Summed GPU time of the scoring passes, from timestamp queries (when offered).
    pub kernel_ms: Option<f64>,
    pub chunks: usize,
    pub variant: Variant,
    /// Where the end-to-end time went, on the CPU's clock.
    pub phases: Phases,
}

/// Milliseconds of one batch by phase, summed over its chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Phases {
    /// Copying rows to the GPU's side, recording and submitting the passes.
    pub submit_ms: f64,
    /// From submission until the outputs are mapped (upload, kernel, copy back, map).
    pub wait_ms: f64,
    /// Copying the mapped outputs out, unmapping, finishing the outputs.
    pub read_ms: f64,
}

/// What the tuner measured for one batch-size bucket.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Rows of the batch it was measured on.
    pub rows: usize,
    pub best: Variant,
    /// Milliseconds per dispatch of each candidate (GPU timestamps, else wall clock).
    pub times: Vec<(Variant, f64)>,
}

/// Rows kept on the GPU, in chunks within the binding limit.
pub struct Resident {
    chunks: Vec<(wgpu::Buffer, usize)>,
    n_rows: usize,
}

struct Pool {
    /// Rows each buffer can hold.
    rows: u64,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    readback: wgpu::Buffer,
}

type MapWait = flume::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>;

/// A MAP_WRITE buffer that stays mapped between uses.
struct Staging {
    buffer: wgpu::Buffer,
    /// The mapping asked for after its last copy; `None` when it is mapped already.
    pending: Option<MapWait>,
}

/// Most parts a chunk is split into (see [`GpuForest::set_parts`]).
pub const MAX_PARTS: usize = 16;
/// Timestamp pairs: one per part, or one per tuning candidate.
const STAMP_PAIRS: usize = MAX_PARTS;

/// Parts per chunk and the chunk size from which to split: the upload of one part overlaps the
/// scoring of the one before. On the H100 at 1M rows (BENCHMARKS.md), 4 parts took Chrome from
/// 58.5 to 50.0 ms and the native harness from 10.5 to 8.3 ms; at 100k rows they cost more
/// than they saved natively (1.6 -> 2.2 ms), so smaller batches stay whole.
const DEFAULT_PARTS: (usize, usize) = (4, 500_000);

/// Parts start on multiples of this many rows, so their byte offsets in the row and output
/// buffers meet WebGPU's 256-byte binding alignment.
const PART_ALIGN_ROWS: usize = 64;

pub struct GpuForest {
    ctx: GpuContext,
    n_features: u32,
    n_trees: u32,
    n_outputs: u32,
    leaf_width: u32,
    head: crate::flat::Head,
    wide: bool,
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    pipelines: HashMap<Variant, wgpu::ComputePipeline>,
    candidates: Vec<Variant>,
    tuned: BTreeMap<u32, Tuning>,
    /// One uniform per part (its row count).
    params: Vec<wgpu::Buffer>,
    nodes: wgpu::Buffer,
    roots: wgpu::Buffer,
    leaf_values: wgpu::Buffer,
    pool: Option<Pool>,
    staging: Vec<Staging>,
    /// Largest rows per dispatch, from the binding limit.
    chunk_rows: u64,
    max_groups: u32,
    timer: Option<(wgpu::QuerySet, wgpu::Buffer, wgpu::Buffer)>,
    /// Chunks of at least `split_from` rows are uploaded and scored in `parts` parts.
    parts: usize,
    split_from: usize,
    upload: Upload,
    /// Measure the variants even on a CPU emulation (tests of the tuner).
    tune_emulated: bool,
    /// The errors of creating the buffers, read before the first work.
    created: Vec<super::context::Popped>,
    /// Bind groups of the pooled buffers made for (first row, rows, part): a batch of a size
    /// seen before binds what it bound then (making one costs about as much as a small
    /// kernel). Emptied when the pool grows; other buffers (resident rows) are bound afresh.
    binds: HashMap<(u64, u64, usize), wgpu::BindGroup>,
    /// What each part's uniform holds, so an unchanged one is not written again.
    written: Vec<Option<[u32; 4]>>,
}

/// A compute shader's storage binding.
pub(super) fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A compute shader's uniform binding.
pub(super) fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A read-only storage buffer holding `contents`. WebGPU rejects empty bindings: nothing is
/// 16 zero bytes.
pub(super) fn storage_init(device: &wgpu::Device, label: &str, contents: &[u8]) -> wgpu::Buffer {
    let pad = [0u8; 16];
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: if contents.is_empty() { &pad } else { contents },
        usage: wgpu::BufferUsages::STORAGE,
    })
}

impl GpuForest {
    /// Uploads `forest`. `max_batch_binding_bytes` lowers the per-binding limit for batches of
    /// rows (tests use it to force chunking without allocating gigabytes).
    pub fn new(
        ctx: GpuContext,
        forest: &FlatForest,
        max_batch_binding_bytes: Option<u64>,
    ) -> Result<GpuForest> {
        let device = &ctx.device;
        let limits = device.limits();
        let binding = ctx.max_binding();
        for (what, bytes) in [
            ("the forest's nodes", forest.nodes.len() as u64 * 4),
            (
                "the forest's leaf values",
                forest.leaf_values.len() as u64 * 4,
            ),
            // Batches are chunked by rows: one row, and one row's outputs, must fit.
            ("one row of features", u64::from(forest.n_features) * 4),
            ("one row's outputs", forest.leaf_width() as u64 * 4),
        ] {
            if bytes > binding {
                return Err(Error::Gpu(format!(
                    "{what} take {bytes} bytes, more than this GPU's {binding}-byte storage binding"
                )));
            }
        }
        let leaf_width = forest.leaf_width() as u32;
        let candidates: Vec<Variant> = Variant::CANDIDATES
            .into_iter()
            .filter(|v| {
                v.fits(
                    forest.n_features,
                    leaf_width,
                    limits.max_compute_workgroup_storage_size,
                    limits.max_compute_invocations_per_workgroup,
                )
            })
            .collect();
        if candidates.is_empty() {
            return Err(Error::Gpu(format!(
                "no kernel fits this GPU's limits ({} invocations, {} bytes of workgroup memory) for {leaf_width} outputs a leaf",
                limits.max_compute_invocations_per_workgroup,
                limits.max_compute_workgroup_storage_size
            )));
        }
        // Every size was checked above: an error now is the device's (out of memory, lost).
        let scope = ctx.scope();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("forest"),
            entries: &[
                uniform_entry(0),
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(3, true),
                storage_entry(4, true),
                storage_entry(5, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("forest"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        // A forest without leaf vectors binds 16 zero bytes.
        let init = |label: &str, contents: &[u8]| storage_init(device, label, contents);
        let nodes = init("nodes", bytemuck::cast_slice(&forest.nodes));
        let roots = init("roots", bytemuck::cast_slice(&forest.roots));
        let leaf_values = init("leaf_values", bytemuck::cast_slice(&forest.leaf_values));
        let params = (0..MAX_PARTS)
            .map(|_| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("params"),
                    size: 16,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let row_bytes = u64::from(forest.n_features.max(1)) * 4;
        let out_bytes = u64::from(leaf_width) * 4;
        let batch_binding = binding.min(max_batch_binding_bytes.unwrap_or(u64::MAX));
        let chunk_rows = (batch_binding / row_bytes)
            .min(batch_binding / out_bytes)
            .max(1);
        let timer = ctx.timestamps.then(|| {
            let n = 2 * STAMP_PAIRS as u32;
            let set = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel time"),
                ty: wgpu::QueryType::Timestamp,
                count: n,
            });
            let resolve = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: u64::from(n) * 8,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let read = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps readback"),
                size: u64::from(n) * 8,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            (set, resolve, read)
        });
        Ok(GpuForest {
            n_features: forest.n_features.max(1),
            n_trees: forest.n_trees() as u32,
            n_outputs: forest.n_outputs,
            leaf_width,
            head: forest.head.clone(),
            wide: forest.wide,
            layout,
            pipeline_layout,
            pipelines: HashMap::new(),
            candidates,
            tuned: BTreeMap::new(),
            params,
            nodes,
            roots,
            leaf_values,
            pool: None,
            staging: Vec::new(),
            chunk_rows,
            max_groups: limits.max_compute_workgroups_per_dimension,
            timer,
            ctx,
            parts: DEFAULT_PARTS.0,
            split_from: DEFAULT_PARTS.1,
            upload: Upload::Staging,
            tune_emulated: false,
            created: scope.pop(),
            binds: HashMap::new(),
            written: Vec::new(),
        })
    }

    /// Runs `work` inside error scopes: a GPU error, or the device's loss, is an `Err` (not a
    /// panic, and not outputs silently wrong), preferred over what `work` made of it.
    async fn scoped<T>(&mut self, work: impl AsyncFnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let created = std::mem::take(&mut self.created);
        self.ctx.errors(created).await?;
        let scope = self.ctx.scope();
        let r = work(self).await;
        scope.close(&self.ctx).await?;
        r
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Rows scored per dispatch at most.
    pub fn chunk_rows(&self) -> u64 {
        self.chunk_rows
    }

    /// The variants that fit this device and forest.
    pub fn candidates(&self) -> &[Variant] {
        &self.candidates
    }

    /// What the tuner measured, by batch-size bucket (rows rounded up to a power of two).
    pub fn tuning(&self) -> impl Iterator<Item = &Tuning> {
        self.tuned.values()
    }

    /// The measured choice for a batch of `rows`, once measured.
    pub fn tuned_for(&self, rows: usize) -> Option<Variant> {
        self.tuned.get(&bucket(rows)).map(|t| t.best)
    }

    /// Splits each chunk of at least `from_rows` rows into `parts` parts (1 to [`MAX_PARTS`]),
    /// each uploaded and submitted on its own, so that the upload of one part can overlap the
    /// scoring of the one before. The outputs are the same.
    pub fn set_parts(&mut self, parts: usize, from_rows: usize) {
        self.parts = parts.clamp(1, MAX_PARTS);
        self.split_from = from_rows;
    }

    pub fn set_upload(&mut self, upload: Upload) {
        self.upload = upload;
    }

    /// Measures the variants even where the adapter is a CPU emulation (where it otherwise
    /// takes the row kernel without measuring); for testing the tuner without a GPU.
    pub fn tune_on_emulated_adapters(&mut self, on: bool) {
        self.tune_emulated = on;
    }

    fn pipeline(&mut self, v: Variant) -> &wgpu::ComputePipeline {
        let (nf, lw, wide) = (self.n_features, self.leaf_width, self.wide);
        let (device, layout) = (&self.ctx.device, &self.pipeline_layout);
        self.pipelines.entry(v).or_insert_with(|| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("forest.wgsl"),
                source: wgpu::ShaderSource::Wgsl(v.source(nf, lw, wide).into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(v.entry_point()),
                layout: Some(layout),
                module: &module,
                entry_point: Some(v.entry_point()),
                compilation_options: wgpu::PipelineCompilationOptions {
                    // Every kernel writes workgroup memory before reading it (natively this
                    // skips a clear per workgroup; browsers clear regardless).
                    zero_initialize_workgroup_memory: false,
                    ..Default::default()
                },
                cache: None,
            })
        })
    }

    fn check_rows(&self, x: &[f32]) -> Result<usize> {
        let nf = self.n_features as usize;
        if x.len() % nf != 0 {
            return Err(Error::Gpu(format!(
                "{} values is not a whole number of {nf}-feature rows",
                x.len()
            )));
        }
        Ok(x.len() / nf)
    }

    fn pool(&mut self, rows: u64) {
        let grow = self.pool.as_ref().is_none_or(|p| p.rows < rows);
        if grow {
            // Grow by powers of two so a sweep of batch sizes reallocates a few times only.
            let rows = rows
                .next_power_of_two()
                .min(self.chunk_rows)
                .max(rows.min(self.chunk_rows));
            let d = &self.ctx.device;
            let buf = |label: &str, size: u64, usage| {
                d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: size.max(16),
                    usage,
                    mapped_at_creation: false,
                })
            };
            let out = rows * u64::from(self.leaf_width) * 4;
            self.binds.clear();
            self.pool = Some(Pool {
                rows,
                input: buf(
                    "rows",
                    rows * u64::from(self.n_features) * 4,
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                ),
                output: buf(
                    "outputs",
                    out,
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                ),
                readback: buf(
                    "readback",
                    out,
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                ),
            });
        }
    }

    /// Scores `x` (row-major, `n_features` wide, NaN = missing), end to end: rows from host
    /// memory in, outputs in host memory out.
    pub async fn predict(&mut self, x: &[f32], kernel: Kernel) -> Result<GpuRun> {
        self.scoped(async |g| g.predict_unscoped(x, kernel).await)
            .await
    }

    async fn predict_unscoped(&mut self, x: &[f32], kernel: Kernel) -> Result<GpuRun> {
        let n_rows = self.check_rows(x)?;
        let nf = self.n_features as usize;
        if n_rows == 0 {
            return Ok(self.empty_run(kernel));
        }
        let chunk = (self.chunk_rows as usize).min(n_rows);
        self.pool(chunk as u64);
        let variant = match kernel {
            Kernel::Fixed(v) => v,
            Kernel::Auto => match self.tuned_for(n_rows) {
                Some(v) => v,
                None => {
                    // Measure on this batch's first chunk, already on the GPU.
                    let input = self.pool.as_ref().expect("pool sized").input.clone();
                    self.upload_parts(&input, &x[..chunk * nf], &[0..chunk], None)
                        .await?;
                    self.tune_on(&input, chunk, n_rows).await?
                }
            },
        };
        let n_chunks = n_rows.div_ceil(chunk);
        let mut scores = vec![0.0f32; n_rows * self.leaf_width as usize];
        let mut kernel_ns = Some(0.0f64);
        let mut phases = Phases::default();
        // Chunks share the pooled buffers, so each is read back before the next is scored;
        // a batch within the limits (the common case) is one chunk and one readback.
        for c in 0..n_chunks {
            let start = c * chunk;
            let rows = chunk.min(n_rows - start);
            let t0 = super::now_ms();
            let parts = self.part_ranges(rows);
            let pool = self.pool.as_ref().expect("pool sized");
            let (input, output) = (pool.input.clone(), pool.output.clone());
            let xs = &x[start * nf..(start + rows) * nf];
            // The copy back rides in the last part's submission: one submission a batch.
            self.upload_parts(&input, xs, &parts, Some((variant, &output, rows)))
                .await?;
            phases.submit_ms += super::now_ms() - t0;
            let lw = self.leaf_width as usize;
            let out = &mut scores[start * lw..(start + rows) * lw];
            let ns = self.read_back(out, parts.len(), &mut phases).await?;
            kernel_ns = kernel_ns.zip(ns).map(|(a, b)| a + b);
        }
        Ok(self.finish(scores, kernel_ns, n_chunks, variant, phases))
    }

    /// Copies `x` to new GPU buffers that stay there for [`Self::score`].
    pub async fn upload(&mut self, x: &[f32]) -> Result<Resident> {
        self.scoped(async |g| g.upload_unscoped(x).await).await
    }

    async fn upload_unscoped(&mut self, x: &[f32]) -> Result<Resident> {
        let n_rows = self.check_rows(x)?;
        let nf = self.n_features as usize;
        let chunk = (self.chunk_rows as usize).min(n_rows).max(1);
        let mut chunks = Vec::new();
        for start in (0..n_rows).step_by(chunk) {
            let rows = chunk.min(n_rows - start);
            let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("resident rows"),
                size: (rows * nf * 4).max(16) as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.upload_parts(
                &buffer,
                &x[start * nf..(start + rows) * nf],
                &[0..rows],
                None,
            )
            .await?;
            chunks.push((buffer, rows));
        }
        Ok(Resident { chunks, n_rows })
    }

    /// Scores rows already on the GPU: no upload, outputs read back to host memory.
    pub async fn score(&mut self, rows: &Resident, kernel: Kernel) -> Result<GpuRun> {
        self.scoped(async |g| g.score_unscoped(rows, kernel).await)
            .await
    }

    async fn score_unscoped(&mut self, rows: &Resident, kernel: Kernel) -> Result<GpuRun> {
        if rows.n_rows == 0 {
            return Ok(self.empty_run(kernel));
        }
        let biggest = rows.chunks.iter().map(|c| c.1).max().unwrap_or(1);
        self.pool(biggest as u64);
        let variant = match kernel {
            Kernel::Fixed(v) => v,
            Kernel::Auto => match self.tuned_for(rows.n_rows) {
                Some(v) => v,
                None => {
                    let (buffer, n) = &rows.chunks[0];
                    self.tune_on(buffer, *n, rows.n_rows).await?
                }
            },
        };
        let lw = self.leaf_width as usize;
        let mut scores = vec![0.0f32; rows.n_rows * lw];
        let mut kernel_ns = Some(0.0f64);
        let mut phases = Phases::default();
        let mut start = 0;
        for (buffer, n) in &rows.chunks {
            let t0 = super::now_ms();
            let output = self.pool.as_ref().expect("pool sized").output.clone();
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            self.record(&mut enc, variant, buffer, &output, 0, *n, 0, Some(0), 1);
            self.record_copy_out(&mut enc, *n, 1);
            self.ctx.queue.submit([enc.finish()]);
            phases.submit_ms += super::now_ms() - t0;
            let out = &mut scores[start * lw..(start + n) * lw];
            let ns = self.read_back(out, 1, &mut phases).await?;
            kernel_ns = kernel_ns.zip(ns).map(|(a, b)| a + b);
            start += n;
        }
        Ok(self.finish(scores, kernel_ns, rows.chunks.len(), variant, phases))
    }

    fn empty_run(&self, kernel: Kernel) -> GpuRun {
        GpuRun {
            outputs: Vec::new(),
            kernel_ms: Some(0.0),
            chunks: 0,
            variant: match kernel {
                Kernel::Fixed(v) => v,
                Kernel::Auto => self.candidates[0],
            },
            phases: Phases::default(),
        }
    }

    fn finish(
        &self,
        scores: Vec<f32>,
        kernel_ns: Option<f64>,
        chunks: usize,
        variant: Variant,
        mut phases: Phases,
    ) -> GpuRun {
        let t0 = super::now_ms();
        let n_rows = scores.len() / self.leaf_width as usize;
        let (no, lw) = (self.n_outputs as usize, self.leaf_width as usize);
        let (n_outputs, n_trees, head) = (self.n_outputs, self.n_trees as usize, &self.head);
        let mut outputs = vec![0.0f32; n_rows * no];
        // Small enough that a head with a logistic or softmax (about 28 ns a row with libm's
        // expf) spreads 100k rows over every core.
        const ROWS: usize = 1 << 13;
        crate::parallel::for_chunks(&mut outputs, ROWS * no, |c, o| {
            let s = &scores[c * ROWS * lw..][..o.len() / no * lw];
            head.finish(n_outputs, n_trees, s, o);
        });
        phases.read_ms += super::now_ms() - t0;
        GpuRun {
            outputs,
            kernel_ms: kernel_ns
                .filter(|_| self.timer.is_some())
                .map(|ns| ns / 1e6),
            chunks,
            variant,
            phases,
        }
    }

    /// Measures every candidate on `rows` rows already in `input`, remembers the fastest for
    /// batches of `batch_rows`, and returns it.
    async fn tune_on(
        &mut self,
        input: &wgpu::Buffer,
        rows: usize,
        batch_rows: usize,
    ) -> Result<Variant> {
        let candidates = self.candidates.clone();
        if candidates.len() == 1 || (self.ctx.is_software() && !self.tune_emulated) {
            // A CPU emulation (lavapipe, SwiftShader) says nothing about GPU speed, and measuring
            // every variant there takes seconds: take the row kernel, which fits any forest.
            let best = *candidates.last().expect("at least one candidate");
            self.tuned.insert(
                bucket(batch_rows),
                Tuning {
                    rows,
                    best,
                    times: Vec::new(),
                },
            );
            return Ok(best);
        }
        let output = self.pool.as_ref().expect("pool sized").output.clone();
        let mut times = vec![f64::INFINITY; candidates.len()];
        // Round 0 compiles and warms every pipeline, once each; round 1 repeats each candidate
        // until it spans about 2 ms, well over the timer's resolution (0.1 ms in Chrome)
        // without spending long on a slow device.
        let mut repeats = vec![1usize; candidates.len()];
        for round in 0..2 {
            if self.timer.is_some() {
                let mut enc = self.ctx.device.create_command_encoder(&Default::default());
                for (k, &v) in candidates.iter().enumerate() {
                    self.record(&mut enc, v, input, &output, 0, rows, 0, Some(k), repeats[k]);
                }
                if let Some((set, resolve, read)) = &self.timer {
                    let stamps = 2 * candidates.len() as u32;
                    enc.resolve_query_set(set, 0..stamps, resolve, 0);
                    enc.copy_buffer_to_buffer(resolve, 0, read, 0, u64::from(stamps) * 8);
                }
                self.ctx.queue.submit([enc.finish()]);
                let ticks = self.read_stamps(candidates.len()).await?;
                for (k, t) in ticks.into_iter().enumerate() {
                    times[k] = t / 1e6 / repeats[k] as f64;
                }
            } else {
                for (k, &v) in candidates.iter().enumerate() {
                    let t0 = super::now_ms();
                    let mut enc = self.ctx.device.create_command_encoder(&Default::default());
                    self.record(&mut enc, v, input, &output, 0, rows, 0, None, repeats[k]);
                    self.ctx.queue.submit([enc.finish()]);
                    self.idle().await?;
                    times[k] = (super::now_ms() - t0) / repeats[k] as f64;
                }
            }
            if round == 0 {
                for (r, t) in repeats.iter_mut().zip(&times) {
                    *r = (2.0 / t.max(1e-3)).ceil().clamp(1.0, 16.0) as usize;
                }
            }
        }
        let best = (0..candidates.len())
            .min_by(|&a, &b| times[a].total_cmp(&times[b]))
            .map_or(candidates[0], |k| candidates[k]);
        self.tuned.insert(
            bucket(batch_rows),
            Tuning {
                rows,
                best,
                times: candidates.into_iter().zip(times).collect(),
            },
        );
        Ok(best)
    }

    /// Waits until the GPU has finished all submitted work.
    async fn idle(&self) -> Result<()> {
        let (tx, rx) = flume::bounded(1);
        self.ctx.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        self.ctx.settle()?;
        rx.recv_async()
            .await
            .map_err(|_| Error::Gpu("the GPU was lost".into()))
    }

    /// Row ranges of the parts of a chunk of `rows` rows.
    fn part_ranges(&self, rows: usize) -> Vec<std::ops::Range<usize>> {
        let parts = if rows >= self.split_from {
            self.parts
        } else {
            1
        };
        let step = rows.div_ceil(parts).next_multiple_of(PART_ALIGN_ROWS);
        (0..rows)
            .step_by(step.max(1))
            .map(|s| s..(s + step).min(rows))
            .collect()
    }

    /// Uploads the `parts` of `x` into `dst` (at the parts' own offsets), each in its own
    /// submission; with `score`, each part's scoring pass is recorded after its copy, into
    /// `score.1` at the same row offsets, and the last part's submission copies the outputs
    /// of `score.2` rows (and the timestamps) back.
    async fn upload_parts(
        &mut self,
        dst: &wgpu::Buffer,
        x: &[f32],
        parts: &[std::ops::Range<usize>],
        score: Option<(Variant, &wgpu::Buffer, usize)>,
    ) -> Result<()> {
        let nf = self.n_features as usize;
        for (k, part) in parts.iter().enumerate() {
            let bytes: &[u8] = bytemuck::cast_slice(&x[part.start * nf..part.end * nf]);
            let offset = (part.start * nf * 4) as u64;
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            match self.upload {
                Upload::WriteBuffer => self.ctx.queue.write_buffer(dst, offset, bytes),
                Upload::Staging => {
                    self.fill_staging(k, bytes).await?;
                    let s = &self.staging[k].buffer;
                    enc.copy_buffer_to_buffer(s, 0, dst, offset, bytes.len() as u64);
                }
            }
            if let Some((v, out, rows)) = score {
                self.record(&mut enc, v, dst, out, part.start, part.len(), k, Some(k), 1);
                if k + 1 == parts.len() {
                    self.record_copy_out(&mut enc, rows, parts.len());
                }
            }
            self.ctx.queue.submit([enc.finish()]);
            if self.upload == Upload::Staging {
                // Mapped again as soon as the GPU has copied it: ready for the next batch.
                let s = &mut self.staging[k];
                s.pending = Some(map(&s.buffer, wgpu::MapMode::Write, ..));
            }
        }
        Ok(())
    }

    /// Copies `bytes` into staging buffer `k`, mapped (grown when too small).
    async fn fill_staging(&mut self, k: usize, bytes: &[u8]) -> Result<()> {
        let size = (bytes.len() as u64).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        let fits = self.staging.get(k).is_some_and(|s| s.buffer.size() >= size);
        if !fits {
            let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("staging"),
                size: size.max(16).next_power_of_two(),
                usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            });
            let s = Staging {
                buffer,
                pending: None,
            };
            if k < self.staging.len() {
                self.staging[k] = s;
            } else {
                self.staging.push(s);
            }
        }
        if let Some(wait) = self.staging[k].pending.take() {
            if wait.is_empty() {
                self.ctx.settle()?;
            }
            wait.recv_async()
                .await
                .map_err(|_| Error::Gpu("staging map was dropped".into()))?
                .map_err(|e| Error::Gpu(format!("mapping the staging buffer failed: {e}")))?;
        }
        let buffer = &self.staging[k].buffer;
        write_mapped(buffer, bytes)?;
        buffer.unmap();
        Ok(())
    }

    /// Records one scoring pass over `rows` rows of `input` (from row `first`) into `output`,
    /// with the uniform of part `slot` and, with `stamp`, timestamps pair `stamp`; the pass
    /// dispatches `repeat` times (the tuner times several dispatches together).
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        v: Variant,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
        first: usize,
        rows: usize,
        slot: usize,
        stamp: Option<usize>,
        repeat: usize,
    ) {
        let params: [u32; 4] = [rows as u32, self.n_trees, 0, 0];
        if self.written.len() <= slot {
            self.written.resize(slot + 1, None);
        }
        if self.written[slot] != Some(params) {
            self.ctx
                .queue
                .write_buffer(&self.params[slot], 0, bytemuck::cast_slice(&params));
            self.written[slot] = Some(params);
        }
        let groups = (rows as u32)
            .div_ceil(v.rows_per_group())
            .clamp(1, self.max_groups);
        let nf = u64::from(self.n_features);
        let lw = u64::from(self.leaf_width);
        let (first, n) = (first as u64, rows as u64);
        self.pipeline(v);
        let make = |this: &Self| {
            this.ctx
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("forest"),
                    layout: &this.layout,
                    entries: &[
                        entry(0, this.params[slot].as_entire_binding()),
                        entry(1, this.nodes.as_entire_binding()),
                        entry(2, this.roots.as_entire_binding()),
                        entry(3, this.leaf_values.as_entire_binding()),
                        entry(4, slice(input, first * nf * 4, n * nf * 4)),
                        entry(5, slice(output, first * lw * 4, n * lw * 4)),
                    ],
                })
        };
        let pooled = self
            .pool
            .as_ref()
            .is_some_and(|p| &p.input == input && &p.output == output);
        let fresh;
        let bind = if pooled {
            let key = (first, n, slot);
            if !self.binds.contains_key(&key) {
                // Bounded: a sweep over many sizes keeps the last 64.
                if self.binds.len() >= 64 {
                    self.binds.clear();
                }
                let b = make(self);
                self.binds.insert(key, b);
            }
            &self.binds[&key]
        } else {
            fresh = make(self);
            &fresh
        };
        let timestamp_writes = stamp.and_then(|k| {
            self.timer
                .as_ref()
                .map(|(set, _, _)| wgpu::ComputePassTimestampWrites {
                    query_set: set,
                    beginning_of_pass_write_index: Some(2 * k as u32),
                    end_of_pass_write_index: Some(2 * k as u32 + 1),
                })
        });
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("score"),
            timestamp_writes,
        });
        pass.set_pipeline(&self.pipelines[&v]);
        pass.set_bind_group(0, bind, &[]);
        for _ in 0..repeat {
            pass.dispatch_workgroups(groups, 1, 1);
        }
    }

    /// Records the copy of `rows` rows of outputs to the readback buffer, and the timestamps
    /// of `parts` passes.
    fn record_copy_out(&self, enc: &mut wgpu::CommandEncoder, rows: usize, parts: usize) {
        let pool = self.pool.as_ref().expect("pool sized");
        let bytes = (rows * self.leaf_width as usize * 4) as u64;
        enc.copy_buffer_to_buffer(&pool.output, 0, &pool.readback, 0, bytes);
        if let Some((set, resolve, read)) = &self.timer {
            let stamps = 2 * parts as u32;
            enc.resolve_query_set(set, 0..stamps, resolve, 0);
            enc.copy_buffer_to_buffer(resolve, 0, read, 0, u64::from(stamps) * 8);
        }
    }

    /// Maps the readback (and timestamp) buffers, copies the scores out, unmaps; returns the
    /// GPU time of the `parts` timed passes in ns.
    async fn read_back(
        &self,
        out: &mut [f32],
        parts: usize,
        phases: &mut Phases,
    ) -> Result<Option<f64>> {
        let t0 = super::now_ms();
        let pool = self.pool.as_ref().expect("pool sized");
        let bytes = (out.len() * 4) as u64;
        let wait = map(&pool.readback, wgpu::MapMode::Read, ..bytes);
        let stamps = self.map_stamps(parts);
        self.ctx.settle()?;
        wait.recv_async()
            .await
            .map_err(|_| Error::Gpu("readback was dropped".into()))?
            .map_err(|e| Error::Gpu(format!("readback failed: {e}")))?;
        let ticks = self.stamps(stamps, parts).await?;
        let t1 = super::now_ms();
        phases.wait_ms += t1 - t0;
        read_mapped(&pool.readback, bytes, bytemuck::cast_slice_mut(out))?;
        pool.readback.unmap();
        phases.read_ms += super::now_ms() - t1;
        Ok((!ticks.is_empty()).then(|| ticks.iter().sum()))
    }

    /// Asks to map the first `pairs` resolved timestamp pairs (none without timestamps).
    fn map_stamps(&self, pairs: usize) -> Option<MapWait> {
        let (_, _, read) = self.timer.as_ref()?;
        Some(map(read, wgpu::MapMode::Read, ..pairs as u64 * 16))
    }

    /// Nanoseconds of each timestamp pair mapped by [`Self::map_stamps`] (empty without).
    async fn stamps(&self, wait: Option<MapWait>, pairs: usize) -> Result<Vec<f64>> {
        let (Some(wait), Some((_, _, read))) = (wait, &self.timer) else {
            return Ok(Vec::new());
        };
        wait.recv_async()
            .await
            .map_err(|_| Error::Gpu("timestamps were dropped".into()))?
            .map_err(|e| Error::Gpu(format!("timestamps failed: {e}")))?;
        let mut t = vec![0u64; pairs * 2];
        read_mapped(read, pairs as u64 * 16, bytemuck::cast_slice_mut(&mut t))?;
        read.unmap();
        let period = f64::from(self.ctx.queue.get_timestamp_period());
        Ok(t.chunks_exact(2)
            .map(|p| p[1].saturating_sub(p[0]) as f64 * period)
            .collect())
    }

    /// Nanoseconds of each of the first `pairs` timestamp pairs (empty without timestamps).
    async fn read_stamps(&self, pairs: usize) -> Result<Vec<f64>> {
        let wait = self.map_stamps(pairs);
        self.ctx.settle()?;
        self.stamps(wait, pairs).await
    }

    /// [`Self::predict`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_blocking(&mut self, x: &[f32], kernel: Kernel) -> Result<GpuRun> {
        pollster::block_on(self.predict(x, kernel))
    }
}

/// Batch sizes share a tuning when they round up to the same power of two.
fn bucket(rows: usize) -> u32 {
    rows.max(1).next_power_of_two().trailing_zeros()
}

fn entry(binding: u32, resource: wgpu::BindingResource<'_>) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry { binding, resource }
}

/// `size` bytes of `buffer` from `start`, as a binding.
fn slice(buffer: &wgpu::Buffer, start: u64, size: u64) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset: start,
        size: wgpu::BufferSize::new(size.max(4)),
    })
}

fn map<S: std::ops::RangeBounds<u64>>(
    buffer: &wgpu::Buffer,
    mode: wgpu::MapMode,
    range: S,
) -> MapWait {
    let (tx, rx) = flume::bounded(1);
    buffer.slice(range).map_async(mode, move |r| {
        let _ = tx.send(r);
    });
    rx
}

/// Copies `bytes` into the start of mapped `buffer`: one copy on every platform (in the browser
/// straight into the mapping's ArrayBuffer, not through a wasm-side temporary; natively on all
/// cores for large batches).
fn write_mapped(buffer: &wgpu::Buffer, bytes: &[u8]) -> Result<()> {
    #[cfg(target_arch = "wasm32")]
    {
        let raw = buffer
            .as_webgpu()
            .ok_or_else(|| Error::Gpu("not a WebGPU buffer".into()))?;
        let range = raw
            .get_mapped_range_with_f64_and_f64(0.0, buffer.size() as f64)
            .map_err(|e| Error::Gpu(format!("staging buffer not mapped: {e:?}")))?;
        // SAFETY: the view is used at once, with no allocation in between.
        let src = unsafe { js_sys::Uint8Array::view(bytes) };
        js_sys::Uint8Array::new(&range).set(&src, 0);
        Ok(())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut view = buffer
            .get_mapped_range_mut(..)
            .map_err(|e| Error::Gpu(format!("staging buffer not mapped: {e:?}")))?;
        let dst = view.slice(..bytes.len());
        crate::parallel::copy_into(dst, bytes);
        Ok(())
    }
}

/// Copies the start of mapped `buffer` into `out` (in the browser without a wasm-side
/// temporary; natively on all cores, since reading mapped memory is slow on one).
fn read_mapped(buffer: &wgpu::Buffer, bytes: u64, out: &mut [u8]) -> Result<()> {
    let view = buffer
        .get_mapped_range(..bytes)
        .map_err(|e| Error::Gpu(format!("readback failed: {e:?}")))?;
    #[cfg(target_arch = "wasm32")]
    view.as_uint8array().copy_to(out);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let src: &[u8] = &view;
        const PIECE: usize = 1 << 20;
        crate::parallel::for_chunks(out, PIECE, |c, o| {
            o.copy_from_slice(&src[c * PIECE..c * PIECE + o.len()])
        });
    }
    Ok(())
}
