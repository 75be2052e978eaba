// No freezes: while a 300k x 30 CSV (about 60 MB) is read, trained on and scored, and while 1M
// synthetic rows are generated, the page's thread runs no long task over LIMIT_MS. Reading,
// generating and encoding happen in the data worker, trees grow in the training workers, the
// GPU runs in the data worker too (its first use compiles kernels there) and the page only
// draws. The long-task observer (fixtures.js) records every task over 50 ms.
const fs = require('fs');
const { test, expect, gpuSettled } = require('./fixtures');

// The limit. On the 2-core dev machine the longest seen was 56 ms (the page copying
// the rows for its CPU workers), with SwiftShader's GPU work on the same two cores.
const LIMIT_MS = 100;

function bigCsv(path, rows, features) {
  if (fs.existsSync(path)) return;
  const head = [...Array(features).keys()].map((i) => `f${i}`).concat('class').join(',');
  const out = fs.openSync(path, 'w');
  fs.writeSync(out, head + '\n');
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  let chunk = [];
  for (let r = 0; r < rows; r++) {
    const v = [];
    let s = 0;
    for (let f = 0; f < features; f++) {
      const x = rand() * 2 - 1;
      if (f < 4) s += x;
      v.push(x.toFixed(4));
    }
    v.push(s > 0 ? 1 : 0);
    chunk.push(v.join(','));
    if (chunk.length === 10000) {
      fs.writeSync(out, chunk.join('\n') + '\n');
      chunk = [];
    }
  }
  if (chunk.length) fs.writeSync(out, chunk.join('\n') + '\n');
  fs.closeSync(out);
}

async function longTasks(page, since) {
  return page.evaluate((t0) => window.__longTasks.filter((t) => t.start >= t0), since);
}

async function now(page) {
  return page.evaluate(() => performance.now());
}

test('300k x 30 rows load, train and score, and 1M rows generate, without a long task', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  const csv = testInfo.outputPath('rows-300k-x-30.csv');
  bigCsv(csv, 300_000, 30);
  await page.goto('/');
  await gpuSettled(page);
  const seen = {};

  let t0 = await now(page);
  await page.getByTestId('csv-input').setInputFiles(csv);
  await expect(page.getByTestId('data-summary')).toContainText('300000 rows', { timeout: 120_000 });
  seen.load = await longTasks(page, t0);

  t0 = await now(page);
  await page.getByRole('textbox', { name: 'Trees' }).fill('4');
  await page.getByRole('textbox', { name: 'Max depth' }).fill('6');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here', { timeout: 300_000 });
  seen.train = await longTasks(page, t0);

  t0 = await now(page);
  await page.getByTestId('score').click();
  await expect(page.getByTestId('verdict')).toContainText('300,000 rows', { timeout: 300_000 });
  seen.score = await longTasks(page, t0);

  t0 = await now(page);
  await page.getByRole('spinbutton', { name: 'synthetic rows' }).fill('1000000');
  await page.getByRole('button', { name: 'Generate synthetic rows' }).click();
  await expect(page.getByTestId('data-summary')).toContainText('1000000 rows', { timeout: 120_000 });
  seen.generate = await longTasks(page, t0);

  console.log(`long tasks (ms) by step: ${JSON.stringify(Object.fromEntries(
    Object.entries(seen).map(([k, v]) => [k, v.map((t) => Math.round(t.duration))])))}`);
  for (const [step, tasks] of Object.entries(seen)) {
    const worst = Math.max(0, ...tasks.map((t) => t.duration));
    expect(worst, `longest task on the page's thread while it did "${step}"`).toBeLessThan(LIMIT_MS);
  }
});
