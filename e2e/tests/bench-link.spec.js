// The benchmark link takes its sizes from the URL: one too large for the page's memory is
// refused before anything runs, with the reason, and the page stays usable.
const { test, expect } = require('./fixtures');

test('a benchmark link too large for the page is refused with the reason, and the page works', async ({ page }) => {
  await page.goto('/?bench&rows=100000000&features=32');
  await expect(page.getByTestId('notice')).toContainText('benchmark not started');
  await expect(page.getByTestId('notice')).toContainText('rows=100000000');
  await page.getByRole('button', { name: /Diabetes/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('diabetes.csv');
});
