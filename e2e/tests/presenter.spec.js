// The presenter view: the race's verdict large and in words, the race and the sweep in one
// screen at 1920x1080 and 1280x720, legible axes, human numbers; a benchmark shows its progress
// and lands on a summary card; scoring runs can be cancelled, and new data cancels them.
const { test, expect, trained } = require('./fixtures');

// A software GPU (SwiftShader) is called one; a number never parts from its unit (the space
// before "rows" is a no-break space, which \s matches).
const VERDICT = /^((Software )?GPU [\d.,]+x faster than \d+ CPU workers? at [\d,]+\srows|\d+ CPU workers? [\d.,]+x faster than the (software )?GPU at [\d,]+\srows|(Software )?GPU and \d+ CPU workers? tie at [\d,]+\srows|\d+ CPU workers?: .* \(no GPU\))$/;

/// What a viewer at the back of the room sees: sizes in CSS pixels, as rendered.
async function measure(page) {
  return page.evaluate(() => {
    const px = (el) => parseFloat(getComputedStyle(el).fontSize);
    const svg = document.querySelector('.chart.sweep');
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const ticks = [...svg.querySelectorAll('.tick')].map((t) => px(t) * scale);
    const bars = [...document.querySelectorAll('.lane')].map((t) => t.getBoundingClientRect().height);
    return { verdict: px(document.querySelector('[data-testid=verdict]')), smallestTick: Math.min(...ticks), bars };
  });
}

test('presenter view: the verdict, the race and the sweep fill one screen', async ({ page }, testInfo) => {
  await trained(page, '20');
  await page.getByTestId('stage').click();
  await expect(page.getByTestId('stage')).toHaveAttribute('aria-pressed', 'true');
  // The other sections step aside.
  await expect(page.getByTestId('train')).toBeHidden();
  await page.getByTestId('sweep-max').selectOption('10000');
  await page.getByTestId('sweep').click();
  // Each step says where the sweep is, with a progress bar.
  await expect(page.getByTestId('busy')).toContainText(/Sweep \d of 3, [\d,]+ rows: (CPU|GPU)/);
  await expect(page.getByTestId('busy').locator('progress')).toHaveCount(1);
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 150_000 });
  await expect(page.getByTestId('verdict')).toHaveText(VERDICT);
  await expect(page.getByTestId('verdict')).toContainText(/10,000\srows/);
  // The bars replay the run slowed down: on stage the times show from the start (the caption
  // that says so off stage has no room); a screen reader hears every lane's time.
  await expect(page.getByTestId('replay')).toBeHidden();
  await expect(page.getByTestId('lane').first().locator('.time')).toHaveCSS('opacity', '1');
  await expect(page.getByTestId('race').locator('.lanes')).toHaveAttribute('aria-label', /CPU, 1 thread [\d.,]+\sms/);

  for (const [width, height] of [[1920, 1080], [1280, 720]]) {
    await page.setViewportSize({ width, height });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(2600); // the race's bars finish growing
    for (const id of ['verdict', 'race', 'sweep-chart']) {
      await expect(page.getByTestId(id), `${id} at ${width}x${height}`).toBeInViewport({ ratio: 1 });
    }
    const m = await measure(page);
    expect(m.verdict, 'verdict font size').toBeGreaterThanOrEqual(48);
    expect(m.smallestTick, 'axis label size').toBeGreaterThanOrEqual(16);
    for (const h of m.bars) expect(h, 'racing bar height').toBeGreaterThanOrEqual(48);
    const shot = testInfo.outputPath(`presenter-${width}x${height}.png`);
    await page.screenshot({ path: shot });
    await testInfo.attach(`presenter ${width}x${height}`, { path: shot, contentType: 'image/png' });
  }

  // Numbers read as people say them: no exponents, separators in large counts.
  const race = await page.getByTestId('race').innerText();
  expect(race).not.toMatch(/\de[+-]?\d/);
  expect(race).toMatch(/10,000\srows/);
  for (const t of await page.locator('.lane .time').allInnerTexts()) expect(t).toMatch(/^[\d.,]+\u00a0(ms|s)$/);

  // Esc leaves the presenter view; the details are back.
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('train')).toBeVisible();
  await expect(page.getByTestId('sweep-table').locator('tbody tr')).toHaveCount(3);
});

test('benchmark mode: progress on screen, then a summary card', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto('/?bench&rows=1000&train_rows=2000&trees=10&depth=6&features=8');
  await expect(page.getByTestId('stage')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('busy')).toContainText(/Benchmark|Training|Sweep/);
  const card = page.getByTestId('bench-summary');
  await expect(card).toBeVisible({ timeout: 150_000 });
  await expect(card).toBeInViewport();
  await expect(card).toContainText(/is ahead of \d+ CPU workers? from [\d,]+\srows|stays behind \d+ CPU workers?|did not run/);
  await expect(card).toContainText(/1,000\srows/);
  // The largest batch's verdict leads the race under the card, all in one screen.
  await expect(page.getByTestId('verdict')).toHaveText(VERDICT);
  await expect(page.getByTestId('verdict')).toContainText(/1,000\srows/);
  await expect(page.getByTestId('race')).toBeInViewport({ ratio: 1 });
  // Identity is claimed only over the engines that ran.
  const outputs = page.getByTestId('bench-outputs');
  if (/did not run/.test(await card.innerText())) {
    await expect(outputs).toContainText('the GPU did not run');
    await expect(outputs).not.toContainText(/and (software )?GPU: outputs bit-identical/);
  } else {
    await expect(outputs).toHaveText(/^Every batch size: CPU 1 thread, \d+ CPU workers? and (software )?GPU: outputs bit-identical\.$/);
  }
  await expect(page.getByTestId('busy')).toHaveCount(0);
});

test('a sweep can be cancelled, and new data cancels it', async ({ page }) => {
  await trained(page, '10');
  await page.getByTestId('sweep-max').selectOption('1000000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('busy')).toContainText('Sweep 2 of 5', { timeout: 60_000 });
  await page.getByTestId('cancel-scoring').click();
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId('notice')).toHaveText(/Sweep cancelled/);
  await expect(page.getByTestId('notice')).toBeInViewport();
  // The points measured before the cancel stay.
  await expect(page.getByTestId('sweep-table').locator('tbody tr')).not.toHaveCount(0);

  // Scoring again works (the cancelled workers were replaced).
  await page.getByTestId('score').click();
  await expect(page.getByTestId('verdict')).toHaveText(VERDICT);
  await expect(page.getByTestId('busy')).toHaveCount(0);

  // Other data mid-sweep: the sweep stops, and its points, which belong to the old rows, go.
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('busy')).toContainText('Sweep 2 of 5', { timeout: 60_000 });
  await page.getByRole('button', { name: /Diabetes/ }).click();
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId('sweep-chart')).toHaveCount(0);
  await expect(page.getByTestId('race')).toHaveCount(0);
});
