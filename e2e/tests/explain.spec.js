// Why this prediction: a row's TreeSHAP values add up to the model's output, the GPU's kernels
// (Chromium's own WGSL compiler) give the CPU workers' values within the stated bound, and what
// cannot be explained says why.
const { test, expect, trained } = require('./fixtures');

test('a row explained adds up to its prediction, and every row on both engines agrees', async ({ page }) => {
  await trained(page, '20');
  const row = page.getByTestId('explain-row');
  // The first held-out row is the default.
  await expect(row).toHaveAttribute('placeholder', /^row \d+ \(number or ID\)$/);
  await page.getByTestId('explain').click();
  const card = page.getByTestId('explained');
  await expect(card).toBeVisible({ timeout: 60_000 });
  const [expected, total, output] = await Promise.all(
    ['data-expected', 'data-total', 'data-output'].map(async (a) => Number(await card.getAttribute(a))));
  expect(Math.abs(total - output), 'expected value plus contributions against the output').toBeLessThan(1e-5);
  expect(expected).toBeGreaterThan(0);
  expect(expected).toBeLessThan(1);
  await expect(card.locator('h3')).toHaveText(/^Row \d+: probability of "(malignant|benign)" \d\.\d{3}$/);
  // Ten contributions and the rest, each named with the row's value.
  await expect(card.locator('svg text.label')).toHaveCount(13);
  await expect(card.locator('svg')).toContainText('other features');
  await expect(page.getByTestId('explained-sum')).toContainText(/Explained on the (software GPU|GPU|CPU, 1 worker .*) in /);

  // A row by number, and one that is not there.
  await row.fill('3');
  await page.getByTestId('explain').click();
  await expect(card.locator('h3')).toHaveText(/^Row 3: /);
  await row.fill('9999');
  await page.getByTestId('explain').click();
  await expect(page.getByTestId('notice')).toContainText('row 9999: the loaded rows are numbered 1 to 569');
  await row.fill('P-17');
  await page.getByTestId('explain').click();
  await expect(page.getByTestId('notice')).toContainText('"P-17" is not a row number, and these rows have no ID column');
  await expect(card.locator('h3')).toHaveText(/^Row 3: /);

  await page.getByTestId('explain-all').click();
  const all = page.getByTestId('explained-all');
  await expect(all).toBeVisible({ timeout: 120_000 });
  await expect(all.locator('h3').first()).toHaveText('Every row explained: 569 rows');
  await expect(page.getByTestId('explain-cpu-ms')).toHaveText(/\d/);
  if (await page.getByTestId('explain-gpu-ms').count()) {
    // Bits where the compiler keeps them; else within 1e-6 of the row's largest contribution.
    expect(Number(await all.getAttribute('data-worst'))).toBeLessThanOrEqual(1e-6);
    await expect(page.getByTestId('explain-outputs')).toHaveText(/^\d+ CPU workers? and (software )?GPU: /);
  } else {
    await expect(page.getByTestId('explain-outputs')).toContainText('The GPU did not explain');
  }
  await expect(page.getByTestId('mean-contribution').locator('svg text.label')).toHaveCount(15);
  // The presenter view keeps the race of explanations.
  await page.getByTestId('stage').click();
  await expect(all).toBeVisible();
  await expect(page.getByTestId('explain-cpu-ms')).toBeVisible();
});
