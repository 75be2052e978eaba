//! Adapter and device setup, the same for the browser (WebGPU) and native (Vulkan...).

use crate::error::{Error, Result};

/// A device and what it can do. Cloning shares the device (several forests, one device).
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
    /// Timestamp queries were granted: kernels can be timed on the GPU.
    pub timestamps: bool,
}

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
        Ok(GpuContext {
            device,
            queue,
            adapter_info: adapter.get_info(),
            timestamps,
        })
    }

    /// The adapter runs on the CPU (lavapipe, SwiftShader): never faster than our CPU path.
    pub fn is_software(&self) -> bool {
        self.adapter_info.device_type == wgpu::DeviceType::Cpu
    }

    /// "name (backend, type)" of the adapter, for reports.
    pub fn adapter_name(&self) -> String {
        let i = &self.adapter_info;
        format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type)
    }
}
