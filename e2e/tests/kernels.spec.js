// Every GPU kernel variant, compiled by Chromium's own WGSL compiler, and the CPU scoring
// workers, against the CPU oracle.
// (A loop-scoped accumulator that Chromium did not re-zero once made variants with several
// tree lanes per invocation wrong only in the browser; native tests could not see it.)
const { test, expect } = require('./fixtures');

test('every kernel variant and the CPU workers give the CPU\'s bits in Chromium', async ({ page }) => {
  const lines = [];
  page.on('console', (m) => {
    if (m.type() !== 'log') return;
    try { lines.push(JSON.parse(m.text())); } catch { /* not a benchmark line */ }
  });
  // 40 trees: more than the 16 lanes, so invocations sum several lanes each.
  await page.goto('/?bench&rows=1000&trees=40&depth=8&features=12&train_rows=3000&variants');
  await expect.poll(() => lines.find((l) => l.bench === 'done' || l.bench === 'error'),
    { timeout: 240_000 }).toEqual({ bench: 'done' });
  const variants = lines.filter((l) => l.bench === 'variant');
  expect(variants.map((v) => v.variant)).toEqual(expect.arrayContaining(['c16x256', 'c32x128', 'rows128']));
  for (const v of variants) expect(v.bits_differ, v.variant).toBe(0);
  const sweep = lines.filter((l) => l.bench === 'sweep');
  expect(sweep.length).toBe(2);
  for (const s of sweep) {
    expect(s.bits_differ, `GPU against the CPU workers, sweep at ${s.rows} rows`).toBe(0);
    // The rows split over the workers give one worker's bits.
    expect(s.cpu_workers, 'scoring workers').toBeGreaterThanOrEqual(1);
    expect(s.cpu_bits_differ, `CPU workers against 1 thread, sweep at ${s.rows} rows`).toBe(0);
    expect(s.cpu_one_ms).toBeGreaterThan(0);
  }
});
