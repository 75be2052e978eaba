//! A flattened forest uploaded once to the GPU, scoring batches of rows.
//!
//! Buffers for rows, outputs and readback come from a pool that grows to the largest batch
//! seen and is reused by later calls. A batch larger than the device's storage-binding limit
//! (or its dispatch limit) is scored in chunks, one dispatch each, submitted back to back and
//! read back once.

use super::context::GpuContext;
use super::kernels::KernelShape;
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use wgpu::util::DeviceExt;

/// Which kernel scores a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Each invocation reads its row from the storage buffer.
    Direct,
    /// Each workgroup stages its rows in workgroup memory first.
    Staged,
    /// Chosen by batch size (see [`GpuForest::STAGED_FROM_ROWS`]).
    Auto,
}

/// Scores and timings of one batch.
#[derive(Debug, Clone)]
pub struct GpuRun {
    /// `n_rows` x `n_outputs`, as [`FlatForest::predict`] returns them.
    pub outputs: Vec<f32>,
    /// Summed GPU time of the scoring passes, from timestamp queries (when offered).
    pub kernel_ms: Option<f64>,
    pub chunks: usize,
    pub kernel: Kernel,
    /// Where the end-to-end time went, on the CPU's clock.
    pub phases: Phases,
}

/// Milliseconds of one batch by phase, summed over its chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    /// Copying rows to the GPU's queue, recording and submitting the pass.
    pub submit_ms: f64,
    /// From submission until the outputs are mapped (upload, kernel, copy back, map).
    pub wait_ms: f64,
    /// Copying the mapped outputs out, unmapping.
    pub read_ms: f64,
}

struct Pool {
    /// Rows each buffer can hold.
    rows: u64,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    readback: wgpu::Buffer,
}

/// Most parts a chunk is split into (see [`GpuForest::set_parts`]); two timestamps each.
pub const MAX_PARTS: usize = 16;

/// Parts per chunk and the chunk size from which to split. In Chrome on an H100, splitting
/// 1M rows into 4 parts took the end-to-end time from 200 ms to 131 ms (2: 139 ms, 8: 141 ms;
/// BENCHMARKS.md). Natively it was not measured, so native batches stay whole.
#[cfg(target_arch = "wasm32")]
const DEFAULT_PARTS: (usize, usize) = (4, 500_000);
#[cfg(not(target_arch = "wasm32"))]
const DEFAULT_PARTS: (usize, usize) = (1, usize::MAX);

/// Parts start on multiples of this many rows, so their byte offsets in the row and output
/// buffers meet WebGPU's 256-byte binding alignment.
const PART_ALIGN_ROWS: usize = 64;

pub struct GpuForest {
    ctx: GpuContext,
    shape: KernelShape,
    n_features: u32,
    n_trees: u32,
    inv_trees: f32,
    direct: wgpu::ComputePipeline,
    staged: Option<wgpu::ComputePipeline>,
    layout: wgpu::BindGroupLayout,
    /// One uniform per part (its row count).
    params: Vec<wgpu::Buffer>,
    nodes: wgpu::Buffer,
    roots: wgpu::Buffer,
    leaf_values: wgpu::Buffer,
    pool: Option<Pool>,
    /// Largest rows per dispatch, from the binding and dispatch limits.
    chunk_rows: u64,
    timer: Option<(wgpu::QuerySet, wgpu::Buffer, wgpu::Buffer)>,
    /// Chunks of at least `split_from` rows are uploaded and scored in `parts` parts.
    parts: usize,
    split_from: usize,
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
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

impl GpuForest {
    /// From this many rows on, [`Kernel::Auto`] stages rows in workgroup memory
    /// (measured on an H100 through Vulkan; see BENCHMARKS.md). In the browser never: on the
    /// same H100, Chrome's WebGPU ran the staged kernel 4x slower than natively at 1M rows
    /// (84 ms against 20 ms) while the direct kernel matched native speed at 100k rows.
    #[cfg(not(target_arch = "wasm32"))]
    pub const STAGED_FROM_ROWS: usize = 500_000;
    #[cfg(target_arch = "wasm32")]
    pub const STAGED_FROM_ROWS: usize = usize::MAX;

    /// Uploads `forest`. `max_batch_binding_bytes` lowers the per-binding limit for batches of
    /// rows (tests use it to force chunking without allocating gigabytes).
    pub fn new(
        ctx: GpuContext,
        forest: &FlatForest,
        max_batch_binding_bytes: Option<u64>,
    ) -> Result<GpuForest> {
        let device = &ctx.device;
        let limits = device.limits();
        let binding = u64::from(limits.max_storage_buffer_binding_size).min(limits.max_buffer_size);
        let node_bytes = forest.nodes.len() as u64 * 16;
        if node_bytes > binding {
            return Err(Error::Gpu(format!(
                "the forest's {} nodes ({node_bytes} bytes) exceed this GPU's {binding}-byte storage binding",
                forest.nodes.len()
            )));
        }
        let shape = KernelShape::new(
            forest.n_features,
            forest.n_outputs,
            limits.max_compute_workgroup_storage_size,
            limits.max_compute_invocations_per_workgroup,
        );
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("forest.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shape.source().into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("forest"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
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
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let direct = pipeline("predict_direct");
        let staged = (shape.staged_rows > 0).then(|| pipeline("predict_staged"));
        let init = |label: &str, contents: &[u8]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
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
        let out_bytes = u64::from(forest.n_outputs) * 4;
        let per_dispatch = u64::from(limits.max_compute_workgroups_per_dimension)
            * u64::from(shape.direct_rows.min(if shape.staged_rows > 0 {
                shape.staged_rows
            } else {
                u32::MAX
            }));
        let batch_binding = binding.min(max_batch_binding_bytes.unwrap_or(u64::MAX));
        let chunk_rows = (batch_binding / row_bytes)
            .min(batch_binding / out_bytes)
            .min(per_dispatch)
            .max(1);
        let timer = ctx.timestamps.then(|| {
            let n = 2 * MAX_PARTS as u32;
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
            shape,
            n_features: forest.n_features,
            n_trees: forest.n_trees() as u32,
            inv_trees: forest.inv_trees(),
            direct,
            staged,
            layout,
            params,
            nodes,
            roots,
            leaf_values,
            pool: None,
            chunk_rows,
            timer,
            ctx,
            parts: DEFAULT_PARTS.0,
            split_from: DEFAULT_PARTS.1,
        })
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Rows scored per dispatch at most.
    pub fn chunk_rows(&self) -> u64 {
        self.chunk_rows
    }

    /// Splits each chunk of at least `from_rows` rows into `parts` parts (1 to [`MAX_PARTS`]),
    /// each uploaded and submitted on its own, so that the upload of one part can overlap the
    /// scoring of the one before. The outputs are the same.
    pub fn set_parts(&mut self, parts: usize, from_rows: usize) {
        self.parts = parts.clamp(1, MAX_PARTS);
        self.split_from = from_rows;
    }

    pub fn has_staged_kernel(&self) -> bool {
        self.staged.is_some()
    }

    fn pool(&mut self, rows: u64) -> &Pool {
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
            let n_out = u64::from(self.shape.n_outputs);
            self.pool = Some(Pool {
                rows,
                input: buf(
                    "rows",
                    rows * u64::from(self.n_features.max(1)) * 4,
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                ),
                output: buf(
                    "outputs",
                    rows * n_out * 4,
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                ),
                readback: buf(
                    "readback",
                    rows * n_out * 4,
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                ),
            });
        }
        self.pool.as_ref().expect("pool was just made")
    }

    /// Scores `x` (row-major, `n_features` wide, NaN = missing).
    pub async fn predict(&mut self, x: &[f32], kernel: Kernel) -> Result<GpuRun> {
        let nf = self.n_features.max(1) as usize;
        if x.len() % nf != 0 {
            return Err(Error::Gpu(format!(
                "{} values is not a whole number of {nf}-feature rows",
                x.len()
            )));
        }
        let n_rows = x.len() / nf;
        let n_out = self.shape.n_outputs as usize;
        let kernel = match kernel {
            Kernel::Auto if self.staged.is_some() && n_rows >= Self::STAGED_FROM_ROWS => {
                Kernel::Staged
            }
            Kernel::Auto => Kernel::Direct,
            Kernel::Staged if self.staged.is_none() => {
                return Err(Error::Gpu(
                    "rows too wide to stage in workgroup memory".into(),
                ));
            }
            k => k,
        };
        let mut outputs = vec![0.0f32; n_rows * n_out];
        if n_rows == 0 {
            return Ok(GpuRun {
                outputs,
                kernel_ms: Some(0.0),
                chunks: 0,
                kernel,
                phases: Phases::default(),
            });
        }
        let chunk = (self.chunk_rows as usize).min(n_rows);
        self.pool(chunk as u64);
        let n_chunks = n_rows.div_ceil(chunk);
        let mut kernel_ns = 0.0f64;
        let mut timed = self.timer.is_some();
        let mut phases = Phases::default();
        // Chunks share the pooled buffers, so each is read back before the next is scored;
        // a batch within the limits (the common case) is one chunk and one readback.
        for c in 0..n_chunks {
            let start = c * chunk;
            let rows = chunk.min(n_rows - start);
            let t0 = super::now_ms();
            let ts = self.run_chunk(&x[start * nf..(start + rows) * nf], rows, kernel)?;
            phases.submit_ms += super::now_ms() - t0;
            let out = &mut outputs[start * n_out..(start + rows) * n_out];
            let ns = self.read_back(out, ts, &mut phases).await?;
            match ns {
                Some(ns) => kernel_ns += ns,
                None => timed = false,
            }
        }
        Ok(GpuRun {
            outputs,
            kernel_ms: timed.then_some(kernel_ns / 1e6),
            chunks: n_chunks,
            kernel,
            phases,
        })
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

    /// Uploads, records and submits one chunk, part by part; returns the number of timed parts.
    fn run_chunk(&mut self, x: &[f32], rows: usize, kernel: Kernel) -> Result<usize> {
        let n_out = u64::from(self.shape.n_outputs);
        let nf = self.n_features.max(1) as usize;
        let row_bytes = nf as u64 * 4;
        let parts = self.part_ranges(rows);
        let pool = self.pool.as_ref().expect("pool sized before chunks");
        let (device, q) = (&self.ctx.device, &self.ctx.queue);
        for (k, part) in parts.iter().enumerate() {
            let n = part.len() as u64;
            let params: [u32; 4] = [
                part.len() as u32,
                self.n_features,
                self.n_trees,
                self.inv_trees.to_bits(),
            ];
            q.write_buffer(&self.params[k], 0, bytemuck::cast_slice(&params));
            q.write_buffer(
                &pool.input,
                part.start as u64 * row_bytes,
                bytemuck::cast_slice(&x[part.start * nf..part.end * nf]),
            );
            let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("forest"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: self.params[k].as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: self.nodes.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: self.roots.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: self.leaf_values.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 4,
                        resource: slice(&pool.input, part.start as u64 * row_bytes, n * row_bytes),
                    },
                    wgpu::BindGroupEntry {
                        binding: 5,
                        resource: slice(&pool.output, part.start as u64 * n_out * 4, n * n_out * 4),
                    },
                ],
            });
            let mut enc = device.create_command_encoder(&Default::default());
            {
                let timestamp_writes =
                    self.timer
                        .as_ref()
                        .map(|(set, _, _)| wgpu::ComputePassTimestampWrites {
                            query_set: set,
                            beginning_of_pass_write_index: Some(2 * k as u32),
                            end_of_pass_write_index: Some(2 * k as u32 + 1),
                        });
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("score"),
                    timestamp_writes,
                });
                let (pipeline, per_group) = match kernel {
                    Kernel::Staged => (
                        self.staged.as_ref().expect("checked by predict"),
                        self.shape.staged_rows,
                    ),
                    _ => (&self.direct, self.shape.direct_rows),
                };
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &bind, &[]);
                pass.dispatch_workgroups((n as u32).div_ceil(per_group), 1, 1);
            }
            // Each part goes to the GPU as soon as it is recorded; the next part's upload
            // then overlaps its scoring.
            q.submit([enc.finish()]);
        }
        let mut enc = device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&pool.output, 0, &pool.readback, 0, rows as u64 * n_out * 4);
        let stamps = 2 * parts.len() as u32;
        if let Some((set, resolve, read)) = &self.timer {
            enc.resolve_query_set(set, 0..stamps, resolve, 0);
            enc.copy_buffer_to_buffer(resolve, 0, read, 0, u64::from(stamps) * 8);
        }
        q.submit([enc.finish()]);
        Ok(if self.timer.is_some() { parts.len() } else { 0 })
    }

    /// Maps the readback (and timestamp) buffers, copies the outputs out, unmaps.
    async fn read_back(
        &self,
        out: &mut [f32],
        timed_parts: usize,
        phases: &mut Phases,
    ) -> Result<Option<f64>> {
        let timed = timed_parts > 0;
        let stamp_bytes = timed_parts as u64 * 16;
        let t0 = super::now_ms();
        let pool = self.pool.as_ref().expect("pool sized before chunks");
        let bytes = (out.len() * 4) as u64;
        let mut waits = vec![map(&pool.readback, bytes)];
        if timed && let Some((_, _, read)) = &self.timer {
            waits.push(map(read, stamp_bytes));
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        for w in waits {
            w.recv_async()
                .await
                .map_err(|_| Error::Gpu("readback was dropped".into()))?
                .map_err(|e| Error::Gpu(format!("readback failed: {e}")))?;
        }
        let t1 = super::now_ms();
        phases.wait_ms += t1 - t0;
        {
            let view = pool
                .readback
                .get_mapped_range(..bytes)
                .map_err(|e| Error::Gpu(format!("readback failed: {e:?}")))?;
            out.copy_from_slice(bytemuck::cast_slice(&view));
        }
        pool.readback.unmap();
        let mut ns = None;
        if timed && let Some((_, _, read)) = &self.timer {
            {
                let view = read
                    .get_mapped_range(..stamp_bytes)
                    .map_err(|e| Error::Gpu(format!("timestamps failed: {e:?}")))?;
                let t: &[u64] = bytemuck::cast_slice(&view);
                let period = f64::from(self.ctx.queue.get_timestamp_period());
                let ticks: u64 = t.chunks_exact(2).map(|p| p[1].saturating_sub(p[0])).sum();
                ns = Some(ticks as f64 * period);
            }
            read.unmap();
        }
        phases.read_ms += super::now_ms() - t1;
        Ok(ns)
    }

    /// [`Self::predict`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_blocking(&mut self, x: &[f32], kernel: Kernel) -> Result<GpuRun> {
        pollster::block_on(self.predict(x, kernel))
    }
}

/// `size` bytes of `buffer` from `start`, as a binding.
fn slice(buffer: &wgpu::Buffer, start: u64, size: u64) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset: start,
        size: wgpu::BufferSize::new(size),
    })
}

fn map(
    buffer: &wgpu::Buffer,
    bytes: u64,
) -> flume::Receiver<std::result::Result<(), wgpu::BufferAsyncError>> {
    let (tx, rx) = flume::bounded(1);
    buffer
        .slice(..bytes)
        .map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
    rx
}
