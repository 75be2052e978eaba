//! TreeSHAP on the GPU: an [`Explainer`]'s paths uploaded once, rows explained in chunks that
//! fit the device's bindings (`shaders/explain.wgsl`). It returns the sums that
//! [`Explainer::finish`] turns into values, as it does the CPU's.

use super::GpuContext;
use super::forest::{storage_entry, storage_init, uniform_entry};
use crate::error::{Error, Result};
use crate::explain::Explainer;
use forest_scoring::treeshap::{self, GPU_MAX_PATH};
use wgpu::util::DeviceExt;

/// The tree sums of one chunk are kept under this many bytes, whatever the device allows.
const MAX_PARTIAL_BYTES: u64 = 256 << 20;
/// Invocations per workgroup (`WG` of the kernel).
const WORKGROUP: u32 = 64;

pub struct GpuExplainer {
    ctx: GpuContext,
    layout: wgpu::BindGroupLayout,
    per_tree: wgpu::ComputePipeline,
    sum: wgpu::ComputePipeline,
    /// elements, paths, tree paths, leaf values, reciprocals
    forest: [wgpu::Buffer; 5],
    params: wgpu::Buffer,
    n_features: usize,
    leaf_width: usize,
    n_trees: u32,
    chunk_rows: usize,
    max_groups: u32,
    /// The scopes of the setup, read at the first batch.
    created: Vec<super::context::Popped>,
}

impl GpuExplainer {
    pub fn new(ctx: GpuContext, explainer: &Explainer) -> Result<GpuExplainer> {
        let p = explainer.paths();
        let f = explainer.forest();
        if p.longest > GPU_MAX_PATH {
            return Err(Error::Gpu(format!(
                "a path of this forest tests {} distinct features; the GPU explains paths of up \
                 to {GPU_MAX_PATH} (explain on the CPU)",
                p.longest
            )));
        }
        let device = &ctx.device;
        let limits = device.limits();
        let binding = ctx.max_binding();
        let (nf, lw) = (f.n_features.max(1) as usize, f.leaf_width());
        let per_row = f.n_trees() as u64 * (nf * lw) as u64 * 4;
        for (what, bytes) in [
            ("the forest's paths", p.elements.len() as u64 * 4),
            ("one row's sums per tree", per_row),
        ] {
            if bytes > binding {
                return Err(Error::Gpu(format!(
                    "{what} take {bytes} bytes, more than this GPU's {binding}-byte storage \
                     binding (explain on the CPU)"
                )));
            }
        }
        let maxp = ((p.longest + 1) | 1) as u64;
        let workgroup = u64::from(WORKGROUP) * maxp * 4;
        if workgroup > u64::from(limits.max_compute_workgroup_storage_size) {
            return Err(Error::Gpu(format!(
                "the path weights of a workgroup take {workgroup} bytes, more than this GPU's \
                 {} bytes of workgroup memory (explain on the CPU)",
                limits.max_compute_workgroup_storage_size
            )));
        }
        let chunk_rows = (binding.min(MAX_PARTIAL_BYTES) / per_row)
            .min(u64::from(limits.max_compute_workgroups_per_dimension) * u64::from(WORKGROUP))
            .max(1) as usize;
        let scope = ctx.scope();
        let body = include_str!("../../shaders/explain.wgsl")
            .replace("{{NF}}", &nf.to_string())
            .replace("{{LW}}", &lw.to_string())
            .replace("{{MAXP}}", &maxp.to_string());
        let mut source = format!("{}\n{body}", include_str!("../../shaders/keys.wgsl"));
        for (token, value) in treeshap::wgsl_tokens() {
            source = source.replace(token, &value);
        }
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("explain"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let mut entries = vec![uniform_entry(0)];
        entries.extend((1..=6).map(|b| storage_entry(b, true)));
        entries.extend([storage_entry(7, false), storage_entry(8, false)]);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("explain"),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("explain"),
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
        let init = |label: &str, contents: &[u8]| storage_init(device, label, contents);
        let forest = [
            init("path elements", bytemuck::cast_slice(&p.elements)),
            init("paths", bytemuck::cast_slice(&p.paths)),
            init("tree paths", bytemuck::cast_slice(&p.tree_paths)),
            init("leaf values", bytemuck::cast_slice(&f.leaf_values)),
            init("reciprocals", bytemuck::cast_slice(explainer.recip())),
        ];
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("explain params"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let e = GpuExplainer {
            per_tree: pipeline("explain_trees"),
            sum: pipeline("sum_trees"),
            layout,
            forest,
            params,
            n_features: nf,
            leaf_width: lw,
            n_trees: f.n_trees() as u32,
            chunk_rows,
            max_groups: limits.max_compute_workgroups_per_dimension,
            created: scope.pop(),
            ctx,
        };
        Ok(e)
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Rows explained per dispatch at most.
    pub fn chunk_rows(&self) -> usize {
        self.chunk_rows
    }

    /// Explains at most `rows` rows per dispatch (fewer than the device allows: tests use it to
    /// cover chunking without gigabytes).
    pub fn limit_chunk_rows(&mut self, rows: usize) {
        self.chunk_rows = self.chunk_rows.min(rows.max(1));
    }

    /// The sums of the rows of `x` (`n_rows x n_features x leaf width`, the module's rules).
    pub async fn sums(&mut self, x: &[f32]) -> Result<Vec<f32>> {
        let created = std::mem::take(&mut self.created);
        self.ctx.errors(created).await?;
        let (nf, lw) = (self.n_features, self.leaf_width);
        let n_rows = x.len() / nf;
        let mut sums = vec![0.0f32; n_rows * nf * lw];
        let scope = self.ctx.scope();
        for (c, out) in sums.chunks_mut(self.chunk_rows * nf * lw).enumerate() {
            let start = c * self.chunk_rows * nf;
            let rows = &x[start..start + out.len() / lw];
            self.chunk(rows, out).await?;
        }
        scope.close(&self.ctx).await?;
        Ok(sums)
    }

    async fn chunk(&self, rows: &[f32], out: &mut [f32]) -> Result<()> {
        let device = &self.ctx.device;
        let n_rows = (rows.len() / self.n_features) as u32;
        let f = (self.n_features * self.leaf_width) as u64;
        let out_bytes = (out.len() * 4) as u64;
        let row_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("explain rows"),
            contents: bytemuck::cast_slice(rows),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let storage = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(16),
                usage,
                mapped_at_creation: false,
            })
        };
        let partial = storage(
            "tree sums",
            u64::from(self.n_trees) * u64::from(n_rows) * f * 4,
            wgpu::BufferUsages::STORAGE,
        );
        let sums = storage(
            "sums",
            out_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let readback = storage(
            "sums readback",
            out_bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        self.ctx.queue.write_buffer(
            &self.params,
            0,
            bytemuck::cast_slice(&[n_rows, self.n_trees, 0, 0]),
        );
        let mut entries: Vec<wgpu::BindGroupEntry> = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: self.params.as_entire_binding(),
        }];
        for (b, buf) in self.forest.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: b as u32 + 1,
                resource: buf.as_entire_binding(),
            });
        }
        for (b, buf) in [(6, &row_buf), (7, &partial), (8, &sums)] {
            entries.push(wgpu::BindGroupEntry {
                binding: b,
                resource: buf.as_entire_binding(),
            });
        }
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("explain"),
            layout: &self.layout,
            entries: &entries,
        });
        let mut enc = device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_bind_group(0, &group, &[]);
            pass.set_pipeline(&self.per_tree);
            pass.dispatch_workgroups(n_rows.div_ceil(WORKGROUP), self.n_trees, 1);
            pass.set_pipeline(&self.sum);
            let groups = (u64::from(n_rows) * f).div_ceil(u64::from(WORKGROUP));
            let x = groups.min(u64::from(self.max_groups));
            pass.dispatch_workgroups(x as u32, groups.div_ceil(x) as u32, 1);
        }
        enc.copy_buffer_to_buffer(&sums, 0, &readback, 0, out_bytes);
        self.ctx.queue.submit([enc.finish()]);
        let (tx, rx) = flume::bounded(1);
        readback.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.ctx.settle()?;
        rx.recv_async()
            .await
            .map_err(|_| Error::Gpu("readback was dropped".into()))?
            .map_err(|e| Error::Gpu(format!("readback failed: {e}")))?;
        {
            let view = readback
                .get_mapped_range(..)
                .map_err(|e| Error::Gpu(format!("readback failed: {e:?}")))?;
            out.copy_from_slice(bytemuck::cast_slice(&view[..out_bytes as usize]));
        }
        readback.unmap();
        Ok(())
    }

    /// [`Self::sums`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn sums_blocking(&mut self, x: &[f32]) -> Result<Vec<f32>> {
        pollster::block_on(self.sums(x))
    }
}
