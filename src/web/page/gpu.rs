//! The GPU as the page sees it: found and opened (in the data worker) once, named in the
//! header, given each model's forest, opened again after the device was lost.

use super::state::{GpuState, Ui, engine};
use crate::protocol::GpuAdapter;
use crate::web::services::data_worker;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The GPU that holds model `key`, or why the GPU will not run it (in words the figures show).
pub fn gpu_holding(ui: Ui, key: u64) -> Result<GpuAdapter, String> {
    match ui.gpu.get_untracked() {
        GpuState::Ready(a) if engine(|e| e.gpu_model) == Some(key) => Ok(a),
        GpuState::Ready(_) => Err(ui
            .gpu_note
            .get_untracked()
            .unwrap_or_else(|| "this model is not on the GPU".into())),
        GpuState::Checking => Err("WebGPU was still starting".into()),
        GpuState::Off(_) => Err("no WebGPU adapter (see the header)".into()),
    }
}

/// Looks for WebGPU and opens the device (in the data worker) once, for every later model.
pub fn init_gpu(ui: Ui) {
    spawn_local(async move {
        let has_gpu = web_sys::window()
            .map(|w| js_sys::Reflect::has(&w.navigator(), &"gpu".into()).unwrap_or(false))
            .unwrap_or(false);
        if !has_gpu {
            ui.gpu.set(GpuState::Off(
                "WebGPU is not available in this browser (navigator.gpu is missing), so scoring runs on the CPU only. Chrome 113+ has it; on Linux it may need chrome://flags/#enable-unsafe-webgpu.".into(),
            ));
            return;
        }
        match async { data_worker().await?.gpu_open().await }.await {
            Ok(adapter) => {
                ui.gpu.set(GpuState::Ready(adapter));
                rebuild_gpu_forest(ui);
            }
            Err(err) => {
                // The wgpu wording goes to the console, for whoever debugs it.
                web_sys::console::warn_1(&format!("WebGPU: {err}").into());
                ui.gpu.set(GpuState::Off(
                    "This browser has WebGPU but gave this page no graphics card to use (the GPU may be blocked, busy or missing), so scoring runs on the CPU only.".into(),
                ))
            }
        }
    });
}

/// Puts the current model on the GPU, if both exist. A model too large for the GPU scores on
/// the CPU, with a note; the next model that fits goes on the GPU again.
pub fn rebuild_gpu_forest(ui: Ui) {
    let ready = matches!(ui.gpu.get_untracked(), GpuState::Ready(_));
    let Some((key, model)) = engine(|e| {
        e.gpu_model = None;
        Some((e.generation, e.model.clone().filter(|_| ready)?))
    }) else {
        return;
    };
    // Requests are answered in order: a score asked for meanwhile finds the forest there.
    engine(|e| e.gpu_model = Some(key));
    spawn_local(async move {
        let r = async { data_worker().await?.gpu_load(key, &model.forest).await }.await;
        if r.is_err() {
            engine(|e| {
                if e.gpu_model == Some(key) {
                    e.gpu_model = None;
                }
            });
        }
        if engine(|e| e.generation) == key {
            ui.gpu_note.set(
                r.err()
                    .map(|err| format!("this model scores on the CPU only: {err}")),
            );
        }
    });
}

/// After the device was lost (driver reset, GPU removed, browser reclaimed it): the worker let
/// it go; the page opens the GPU again, so the next score uses a new device.
pub fn reopen_gpu(ui: Ui) {
    engine(|e| e.gpu_model = None);
    ui.gpu.set(GpuState::Checking);
    init_gpu(ui);
}
