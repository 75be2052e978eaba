// Chromium started without WebGPU: the page says why the GPU path is off, the CPU path works,
// and nothing on the page claims a GPU figure or GPU identity that was never measured.
const { test, expect, gpuSettled } = require('./fixtures');

test('without WebGPU the CPU path works and the page says why the GPU is off', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await expect(page.getByTestId('gpu-off')).toContainText('WebGPU');
  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('569 rows');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  // The buttons promise only what runs.
  await expect(page.getByTestId('score')).toHaveText('Score on CPU');
  await page.getByTestId('score').click();
  await expect(page.getByTestId('cpu-ms')).toHaveText(/ms$/);
  await expect(page.getByTestId('busy')).toHaveCount(0);
  // No GPU tile, and the outputs line names the CPU engines alone and why the GPU did not run.
  await expect(page.getByTestId('gpu-ms')).toHaveCount(0);
  await expect(page.getByTestId('kernel-ms')).toHaveCount(0);
  await expect(page.getByTestId('max-diff')).toHaveText(
    /^CPU 1 thread and \d+ CPU workers?: outputs bit-identical; the GPU did not run: no WebGPU adapter/,
  );
  await expect(page.getByTestId('timing-note')).not.toContainText('GPU');
  await expect(page.getByTestId('verdict')).toContainText('(no GPU)');
  await expect(page.locator('.lane.gpu, .lane.gpu-resident')).toHaveCount(0);

  // The sweep: no GPU column or legend entry, and no row says its outputs matched a GPU.
  await page.getByTestId('sweep-max').selectOption('1000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('sweep-table').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('busy')).toHaveCount(0);
  await expect(page.getByTestId('sweep-table').locator('thead')).not.toContainText('GPU');
  await expect(page.getByTestId('sweep-legend')).not.toContainText('GPU');
  for (const cell of await page.getByTestId('sweep-table').locator('tbody tr td:last-child').allInnerTexts()) {
    expect(cell).toBe('CPU: bit-identical');
  }

  // Explanations run on the CPU and say why not on the GPU; no speed-up is claimed.
  await page.getByTestId('explain').click();
  await expect(page.getByTestId('explained-sum')).toContainText(
    'Explained on the CPU, 1 worker (the GPU did not: no WebGPU adapter');
  await expect(page.getByTestId('explain-all')).toHaveText('Explain every row on the CPU');
  await page.getByTestId('explain-all').click();
  await expect(page.getByTestId('explain-outputs')).toHaveText('The GPU did not explain: no WebGPU adapter (see the header).');
  await expect(page.getByTestId('explain-gpu-ms')).toHaveCount(0);
  await expect(page.getByTestId('explain-speedup')).toHaveCount(0);
  const text = await page.locator('body').innerText();
  expect(text, 'no sentence claims the GPU bit-identical').not.toMatch(/GPU[^;.\n]*bit-identical/);
});

test('benchmark mode without WebGPU: the summary card claims no GPU identity', async ({ page }) => {
  await page.goto('/?bench&rows=1000&train_rows=2000&trees=5&depth=4&features=6');
  const card = page.getByTestId('bench-summary');
  await expect(card).toBeVisible({ timeout: 150_000 });
  await expect(card).toContainText('The GPU did not run.');
  await expect(page.getByTestId('bench-outputs')).toHaveText(
    /^Every batch size: CPU 1 thread and \d+ CPU workers?: outputs bit-identical; the GPU did not run: /,
  );
  expect(await card.innerText()).not.toMatch(/GPU[^;.\n]*bit-identical/);
});
