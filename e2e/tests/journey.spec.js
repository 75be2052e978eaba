// The presenter's journey, on a bundled dataset and on an uploaded CSV.
const { test, expect, gpuSettled, download, ALL_IDENTICAL } = require('./fixtures');

async function trainAndWait(page) {
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
}

async function scoreAndCheck(page) {
  await page.getByTestId('score').click();
  await expect(page.getByTestId('score-result')).toBeVisible();
  await expect(page.getByTestId('busy')).toHaveCount(0);
  // The race's bars are a replay, slowed down, and it says so.
  await expect(page.getByTestId('replay')).toContainText(/Replayed [\d.,]+x slower than it ran/);
  const cpu = await page.getByTestId('cpu-ms').innerText();
  const gpu = await page.getByTestId('gpu-ms').innerText();
  expect(cpu).toMatch(/ms$/);
  // Both CPU figures: one wasm thread, and every scoring worker with their number written out.
  expect(await page.getByTestId('cpu-one-ms').innerText()).toMatch(/ms$/);
  const workers = await page.evaluate(() => Math.min(Math.max(navigator.hardwareConcurrency, 1), 16));
  await expect(page.getByTestId('cpu-workers')).toHaveText(`CPU, ${workers} worker${workers === 1 ? '' : 's'}`);
  expect(gpu, 'the GPU scored (WebGPU adapter present)').toMatch(/ms$/);
  expect(await page.getByTestId('gpu-resident-ms').innerText(), 'rows kept on the GPU scored').toMatch(/ms$/);
  expect(await page.getByTestId('gpu-error').count()).toBe(0);
  // The CPU prediction is the oracle: one worker's, all workers' and the GPU's outputs must be
  // the same bits.
  await expect(page.getByTestId('max-diff')).toHaveText(ALL_IDENTICAL);
}

test('bundled dataset: preview, train, metrics, CPU and GPU agree, sweep, save and load back', async ({ page }, testInfo) => {
  await page.goto('/');
  await gpuSettled(page);
  await expect(page.getByTestId('adapter')).not.toBeEmpty();
  // The bundled data says what it is.
  await page.getByText('About the bundled data').click();
  await expect(page.getByTestId('about-data')).toContainText('s6 blood sugar');
  // SwiftShader (the e2e machine's WebGPU) is a CPU emulation: the page says so wherever it
  // names the GPU.
  const software = /swiftshader/i.test(await page.getByTestId('adapter').innerText());
  if (software) {
    await expect(page.getByTestId('adapter')).toContainText("software GPU (");
    await expect(page.getByTestId('adapter')).toContainText("not this machine's graphics card");
  }
  // trunk serve sends COOP/COEP (trunk.toml): fine timers, SharedArrayBuffer possible.
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);

  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('569 rows');
  await expect(page.getByTestId('preview').locator('th').first()).toHaveText('mean radius');
  await expect(page.getByTestId('preview').locator('tbody tr')).toHaveCount(8);
  await expect(page.getByTestId('target')).toHaveValue('diagnosis');
  await expect(page.getByTestId('task')).toContainText('auto (classification)');

  await trainAndWait(page);
  const acc = parseFloat(await page.getByTestId('headline').innerText());
  expect(acc).toBeGreaterThan(85);
  await expect(page.getByTestId('oob')).toHaveText(/%$/);
  await expect(page.locator('table.confusion tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('importances').locator('rect')).toHaveCount(15);

  await scoreAndCheck(page);
  await expect(page.getByTestId('agree')).toContainText('same class for every row');
  if (software) {
    await expect(page.getByTestId('verdict')).toContainText(/software GPU/i);
    await expect(page.getByTestId('race-sub')).toContainText("software GPU: not this machine's graphics card");
    await expect(page.locator('.lane.gpu .who')).toContainText('software GPU, first run');
  }
  // "fastest" marks the verdict's winner, never another lane.
  const verdict = await page.getByTestId('verdict').innerText();
  const fastest = page.locator('.lane:has(b.first) .who');
  if (/tie at/.test(verdict)) await expect(fastest).toHaveCount(0);
  else if (/^\d+ CPU workers? /.test(verdict)) await expect(fastest).toContainText(/^CPU, \d+ workers?/);
  else await expect(fastest).toContainText(/GPU, first run/);

  await page.getByTestId('sweep-max').selectOption('10000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('sweep-table').locator('tbody tr')).toHaveCount(3);
  await expect(page.getByTestId('busy')).toHaveCount(0);
  // The figures under the race are the race's batch: the sweep's last, not the earlier score.
  await expect(page.getByTestId('verdict')).toContainText('10,000 rows');
  await expect(page.getByTestId('figures-rows')).toHaveText('10,000');
  await expect(page.getByTestId('figures-of')).toContainText('10,000');
  // Two points per batch size at least (CPU and GPU end to end).
  expect(await page.getByTestId('sweep-chart').locator('circle').count()).toBeGreaterThanOrEqual(6);
  await page.screenshot({ path: testInfo.outputPath('results.png'), fullPage: true });
  await testInfo.attach('results', { path: testInfo.outputPath('results.png'), contentType: 'image/png' });

  const heldOut = await page.getByTestId('headline').textContent();
  const model = await download(page, () => page.getByTestId('save-model').click());
  // Named after the rows and the target it was trained on.
  expect(model.name).toBe('breast_cancer-diagnosis-forest.json');
  const json = JSON.parse(model.text);
  expect(json.format).toBe('gpuforest-model');
  expect(json.forest.roots.length).toBe(100);
  const before = await download(page, () => page.getByTestId('export').click());
  expect(before.name).toBe('breast_cancer-diagnosis-forest-predictions.csv');
  // The rows it trained on: each says its side of the split and its true class.
  expect(before.text.split('\n')[0]).toBe('row,split,actual,prediction,proba_benign,proba_malignant');
  const lines = before.text.trim().split('\n').slice(1).map((l) => l.split(','));
  expect(lines.length).toBe(569);
  expect(lines.filter((l) => l[1] === 'test').length).toBe(143);
  expect(lines.filter((l) => l[1] === 'train').length).toBe(426);

  await page.getByTestId('model-input').setInputFiles(model.path);
  await expect(page.getByTestId('model-summary')).toContainText('loaded from');
  // The file keeps the held-out score it was trained with.
  await expect(page.getByTestId('headline')).toHaveText(heldOut);
  await scoreAndCheck(page);
  const after = await download(page, () => page.getByTestId('export').click());
  expect(after.text).toBe(before.text);
});

/// A regression CSV with a text column and missing values.
function regressionCsv(rows) {
  const lines = ['age,city,dose,response'];
  const cities = ['Lyon', 'Oslo', 'Porto'];
  for (let i = 0; i < rows; i++) {
    const age = 20 + (i * 7) % 60;
    const city = cities[i % 3];
    const dose = i % 11 === 0 ? '' : ((i * 13) % 50) / 10;
    const response = 0.5 * age + (city === 'Oslo' ? 10 : 0) + 3 * (dose === '' ? 2 : dose) + ((i * 31) % 7) / 7;
    lines.push(`${age},${city},${dose},${response.toFixed(3)}`);
  }
  return lines.join('\n');
}

test('uploaded CSV: regression with a text column and missing values', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles({
    name: 'dosage.csv', mimeType: 'text/csv', buffer: Buffer.from(regressionCsv(400)),
  });
  await expect(page.getByTestId('data-summary')).toContainText('dosage.csv · 400 rows · 4 columns');
  await page.getByText('Column types and missing values').click();
  const dose = page.getByTestId('columns').locator('tr', { hasText: 'dose' });
  await expect(dose.locator('td').nth(2)).toHaveText('37');
  await expect(page.getByTestId('columns').locator('tr', { hasText: 'city' }).locator('td').nth(1)).toHaveText('text');
  await expect(page.getByTestId('target')).toHaveValue('response');
  await expect(page.getByTestId('task')).toContainText('auto (regression)');

  await trainAndWait(page);
  const r2 = parseFloat(await page.getByTestId('headline').innerText());
  expect(r2).toBeGreaterThan(0.8);
  await expect(page.locator('svg[aria-label="predicted against actual"] circle')).toHaveCount(100);
  await scoreAndCheck(page);
});

test('the page stays responsive while training: no long task over 200 ms', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByRole('spinbutton', { name: 'synthetic rows' }).fill('20000');
  await page.getByRole('button', { name: 'Generate synthetic rows' }).click();
  await expect(page.getByTestId('data-summary')).toContainText('20000 rows');
  await page.getByRole('textbox', { name: 'Trees' }).fill('60');
  const start = await page.evaluate(() => performance.now());
  await page.getByTestId('train').click();
  await expect(page.getByTestId('progress')).toBeVisible();
  // The page answers while trees grow: the progress text moves on.
  await expect(page.getByTestId('progress')).not.toContainText(' 0 / 60');
  await expect(page.getByTestId('model-summary')).toContainText('trained here', { timeout: 170_000 });
  const end = await page.evaluate(() => performance.now());
  const long = await page.evaluate(([s, e]) => window.__longTasks.filter((t) => t.start >= s && t.start <= e), [start, end]);
  console.log(`long tasks while training (${((end - start) / 1000).toFixed(1)} s):`, JSON.stringify(long));
  expect(long.filter((t) => t.duration > 200)).toEqual([]);
});

test('cancel stops training and keeps the previous model', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: /Diabetes/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('diabetes.csv');
  await trainAndWait(page);
  const summary = await page.getByTestId('model-summary').innerText();
  await page.getByRole('spinbutton', { name: 'synthetic rows' }).fill('30000');
  await page.getByRole('button', { name: 'Generate synthetic rows' }).click();
  await expect(page.getByTestId('data-summary')).toContainText('30000 rows');
  await page.getByRole('textbox', { name: 'Trees' }).fill('500');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('progress')).toBeVisible();
  await page.getByTestId('cancel').click();
  await expect(page.getByTestId('notice')).toContainText('Training cancelled');
  await expect(page.getByTestId('progress')).toHaveCount(0);
  await expect(page.getByTestId('model-summary')).toHaveText(summary);
});
