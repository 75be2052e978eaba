// Starts a worker on the page's own wasm module (the page and its workers are one module).
// The page posts the URL of its wasm-bindgen script and the compiled module, so nothing is
// fetched or compiled again; the module's main() finds no window here and starts the
// worker's loop, which replaces this handler and posts Ready.
self.onmessage = async (e) => {
  const [script, module] = e.data;
  try {
    const { default: init } = await import(script);
    await init({ module_or_path: module });
  } catch (err) {
    // Thrown outside the promise, it reaches the page's onerror on the Worker.
    setTimeout(() => { throw err; });
  }
};
