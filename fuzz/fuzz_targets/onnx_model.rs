#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gpuforest::fuzz::onnx_model(data));
