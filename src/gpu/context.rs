//! Adapter and device setup, the same for the browser (WebGPU) and native (Vulkan...).

use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// A device and what it can do. Cloning shares the device (several forests, one device).
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
    /// Timestamp queries were granted: kernels can be timed on the GPU.
    pub timestamps: bool,
    /// Why the device was lost, once it is.
    lost: Arc<Mutex<Option<String>>>,
    /// The first GPU error that no error scope caught (natively wgpu would panic on it).
    uncaught: Arc<Mutex<Option<String>>>,
}

/// Error scopes pushed by [`GpuContext::scope`]: every GPU error of the work done until
/// [`Scope::close`] is reported there, as an `Err`, instead of a panic (native) or a console
/// warning and wrong outputs (browser).
#[must_use = "a scope reports its errors only when closed"]
pub(crate) struct Scope(Vec<wgpu::ErrorScopeGuard>);

/// A scope already popped, whose errors are still to be read (see [`Scope::pop`]).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type Popped = std::pin::Pin<Box<dyn Future<Output = Option<wgpu::Error>> + Send>>;
#[cfg(target_arch = "wasm32")]
pub(crate) type Popped = std::pin::Pin<Box<dyn Future<Output = Option<wgpu::Error>>>>;

impl GpuContext {
    /// Finds the most capable adapter and opens a device with its limits (so large batches
    /// need fewer chunks) and timestamp queries when offered.
    pub async fn new() -> Result<GpuContext> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("no GPU adapter found ({e})")))?;
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let required_features = if timestamps {
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("gpuforest"),
                required_features,
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("cannot open the GPU device ({e})")))?;
        let lost = Arc::new(Mutex::new(None));
        let on_lost = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            *on_lost.lock().unwrap_or_else(|e| e.into_inner()) = Some(match reason {
                wgpu::DeviceLostReason::Destroyed => format!("destroyed: {message}"),
                wgpu::DeviceLostReason::Unknown => message,
            });
        });
        let uncaught = Arc::new(Mutex::new(None));
        let on_error = uncaught.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            on_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(e.to_string());
        }));
        Ok(GpuContext {
            device,
            queue,
            adapter_info: adapter.get_info(),
            timestamps,
            lost,
            uncaught,
        })
    }

    /// Why the device was lost, if it was. A lost device does no more work: open a new
    /// context (the page does so on its own).
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// An error for work on a lost device, if it is lost.
    pub(crate) fn check_lost(&self) -> Result<()> {
        match self.lost() {
            Some(why) => Err(Error::Gpu(format!("the GPU device was lost ({why})"))),
            None => Ok(()),
        }
    }

    /// Catches the errors of the GPU work that follows: out of memory, validation, internal.
    pub(crate) fn scope(&self) -> Scope {
        Scope(
            [
                wgpu::ErrorFilter::Internal,
                wgpu::ErrorFilter::OutOfMemory,
                wgpu::ErrorFilter::Validation,
            ]
            .map(|f| self.device.push_error_scope(f))
            .into(),
        )
    }

    /// The first error of `popped` scopes, of a lost device, or one that escaped every scope.
    pub(crate) async fn errors(&self, popped: Vec<Popped>) -> Result<()> {
        let mut first = None;
        for p in popped {
            if let Some(e) = p.await {
                first.get_or_insert(e);
            }
        }
        if let Some(e) = first {
            return Err(Error::Gpu(format!("the GPU refused the work: {e}")));
        }
        self.check_lost()?;
        if let Some(e) = self
            .uncaught
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            return Err(Error::Gpu(format!("uncaught error: {e}")));
        }
        Ok(())
    }

    /// Called after asking to map buffers, so that the answers come soon. Natively it blocks
    /// until the submitted work is done and the map callbacks have run. In the browser the event
    /// loop runs them, at the device's next tick after the GPU is done; with nothing more
    /// submitted that tick came 2.7-3.6 ms later in Chrome whatever the kernel (0.05 ms), and an
    /// empty submission brings it to 0.5-1.0 ms (H200, Chromium 156: BENCHMARKS.md, "Small
    /// batches in the page").
    pub fn settle(&self) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        #[cfg(target_arch = "wasm32")]
        self.queue.submit(std::iter::empty());
        Ok(())
    }

    /// The adapter runs on the CPU (lavapipe, SwiftShader): never faster than our CPU path.
    pub fn is_software(&self) -> bool {
        self.adapter_info.device_type == wgpu::DeviceType::Cpu
    }

    /// The most bytes one storage binding may take: the device's limits, and under 4 GiB since
    /// kernels index their buffers in u32 words.
    pub(crate) fn max_binding(&self) -> u64 {
        let limits = self.device.limits();
        u64::from(limits.max_storage_buffer_binding_size)
            .min(limits.max_buffer_size)
            .min(u64::from(u32::MAX))
    }

    /// "name (backend, type)" of the adapter, for reports.
    pub fn adapter_name(&self) -> String {
        let i = &self.adapter_info;
        format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type)
    }
}

impl Scope {
    /// Ends the scope now (innermost first, as WebGPU requires); its errors come later.
    pub(crate) fn pop(mut self) -> Vec<Popped> {
        let mut guards = std::mem::take(&mut self.0);
        let mut popped = Vec::new();
        while let Some(g) = guards.pop() {
            popped.push(Box::pin(g.pop()) as Popped);
        }
        popped
    }

    /// Ends the scope and reports its first error, or the device's loss.
    pub(crate) async fn close(self, ctx: &GpuContext) -> Result<()> {
        ctx.errors(self.pop()).await
    }
}

impl Drop for Scope {
    /// Unread, innermost first (a guard dropped out of order panics).
    fn drop(&mut self) {
        while let Some(g) = self.0.pop() {
            drop(g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_a_scope_are_results_not_panics() {
        let ctx = pollster::block_on(GpuContext::new())
            .expect("a Vulkan adapter (lavapipe: apt-get install mesa-vulkan-drivers)");
        let scope = ctx.scope();
        // A uniform buffer cannot be mapped for reading: a validation error.
        let _ = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let e = pollster::block_on(scope.close(&ctx))
            .unwrap_err()
            .to_string();
        assert!(e.contains("the GPU refused the work"), "{e}");
        // The device still works, and a clean scope is Ok.
        let scope = ctx.scope();
        let _ = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM,
            mapped_at_creation: false,
        });
        pollster::block_on(scope.close(&ctx)).unwrap();
        // Outside any scope, the error is kept for the next check instead of panicking.
        let _ = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let e = pollster::block_on(ctx.errors(Vec::new()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("uncaught error"), "{e}");
        pollster::block_on(ctx.errors(Vec::new())).unwrap();
    }
}
