// Feedback where the click happened: an error is in the viewport and announced, new data
// clears the old scores, and Train waits while a sweep runs.
const { test, expect, gpuSettled } = require('./fixtures');

test('errors show in view, new data clears old scores, Train waits for the sweep', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('569 rows');
  await page.getByRole('textbox', { name: 'Trees' }).fill('10');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  await page.getByTestId('score').click();
  await expect(page.getByTestId('score-result')).toBeVisible();

  // Other rows: the scores of the old ones go.
  await page.getByRole('button', { name: /Diabetes/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('diabetes.csv');
  await expect(page.getByTestId('score-result')).toHaveCount(0);

  // Scoring them with the breast-cancer model fails: the message is in view, as an alert.
  await page.getByTestId('score').scrollIntoViewIfNeeded();
  await page.getByTestId('score').click();
  await expect(page.getByTestId('notice')).toContainText('mean radius');
  await expect(page.getByTestId('notice')).toBeInViewport();
  await expect(page.getByRole('alert')).toHaveCount(1);

  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await page.getByTestId('sweep-max').selectOption('100000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('busy')).toHaveCount(1);
  await expect(page.getByTestId('train')).toBeDisabled();
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 150_000 });
  await expect(page.getByTestId('train')).toBeEnabled();
});
