// Accessibility basics: file pickers in the tab order with a visible focus, a name for every
// control, chart lines at 3:1 contrast or more.
const { test, expect, gpuSettled, trained } = require('./fixtures');

/// WCAG relative luminance contrast of two `rgb(...)` colours.
function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test('file pickers take the keyboard focus and show it; every control has a name', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  for (const id of ['csv-input', 'model-input']) {
    // Tab order: focus moves there from the element before it.
    await page.getByTestId(id).focus();
    expect(await page.evaluate(() => document.activeElement.dataset.testid)).toBe(id);
    const outline = await page.getByTestId(id).evaluate((el) => getComputedStyle(el.closest('label')).outlineStyle);
    expect(outline, `${id}: its label shows the focus`).toBe('solid');
  }
  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('569 rows');
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, select, button')]
    .filter((el) => !(el.getAttribute('aria-label') || (el.labels && el.labels.length) || el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 80)));
  expect(unnamed).toEqual([]);
});

test('the sweep chart lines have 3:1 contrast against the card', async ({ page }) => {
  await trained(page);
  await page.getByTestId('sweep-max').selectOption('1000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('sweep-table').locator('tbody tr')).toHaveCount(2);
  const strokes = await page.evaluate(() => [...document.querySelectorAll('svg.sweep polyline')]
    .map((l) => [l.getAttribute('class'), getComputedStyle(l).stroke]));
  expect(strokes.length).toBeGreaterThanOrEqual(2);
  for (const [cls, stroke] of strokes) {
    expect(contrast(stroke, 'rgb(255, 255, 255)'), cls).toBeGreaterThanOrEqual(3);
  }
});

test('at 390 px wide (a phone) nothing is cut off: the page, the race and the sweep fit the width', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await trained(page);
  await page.getByTestId('sweep-max').selectOption('1000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('sweep-table').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('busy')).toHaveCount(0);
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  expect(overflow, 'the page scrolls sideways by this many px').toBeLessThanOrEqual(0);
  for (const id of ['race', 'sweep-chart', 'verdict']) {
    const box = await page.getByTestId(id).boundingBox();
    expect(box.x, `${id} starts on screen`).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, `${id} ends on screen`).toBeLessThanOrEqual(390);
  }
});
