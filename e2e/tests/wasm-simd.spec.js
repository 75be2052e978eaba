// The page and its workers (one wasm module) are built with WebAssembly SIMD
// (.cargo/config.toml): the served wasm really holds SIMD instructions (wabt disassembles it),
// so a lost flag cannot pass unseen.
const { test, expect } = require('./fixtures');

const SIMD = /\b(v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.[a-z_0-9]+/g;

async function simdInstructions(request, path) {
  const res = await request.get(path);
  expect(res.ok(), path).toBe(true);
  const wabt = await require('wabt')();
  const module = wabt.readWasm(await res.body(), { readDebugNames: false, simd: true });
  return (module.toText({}).match(SIMD) || []).length;
}

test('the one wasm module of page and workers uses SIMD128', async ({ request }) => {
  const html = await (await request.get('/')).text();
  const wasm = html.match(/page-[0-9a-f]+_bg\.wasm/g) || [];
  expect(new Set(wasm).size, 'index.html names one wasm').toBe(1);
  expect(await simdInstructions(request, '/' + wasm[0]), wasm[0]).toBeGreaterThan(100);
});
