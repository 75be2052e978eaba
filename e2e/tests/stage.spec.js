// Feedback where the click happened: an error shows beside its button and is announced, new
// data clears the old scores and marks the old figures, and Train waits while a sweep runs.
const { test, expect, trained } = require('./fixtures');

test('errors show in view, new data clears old scores, Train waits for the sweep', async ({ page }) => {
  await trained(page);
  await page.getByTestId('score').click();
  await expect(page.getByTestId('score-result')).toBeVisible();

  // Other rows: the scores of the old ones go.
  await page.getByRole('button', { name: /Diabetes/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('diabetes.csv');
  await expect(page.getByTestId('score-result')).toHaveCount(0);

  // The breast-cancer model cannot score them: Score waits, and says why beside itself.
  await expect(page.getByTestId('score')).toBeDisabled();
  await expect(page.getByTestId('score-blocked')).toContainText('mean radius');
  // Its quality figures are marked as the old rows'.
  await expect(page.getByTestId('stale')).toContainText('breast_cancer.csv');

  // An error lands beside the button that caused it, in view, announced as an alert.
  await page.getByRole('textbox', { name: 'Trees' }).fill('0');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('notice')).toContainText('trees');
  await expect(page.getByTestId('notice')).toBeInViewport();
  await expect(page.getByRole('alert')).toHaveCount(1);
  const [train, notice] = await Promise.all([page.getByTestId('train'), page.getByTestId('notice')].map((l) => l.boundingBox()));
  expect(Math.abs(notice.y - train.y), 'the message is beside the button').toBeLessThan(250);
  await page.getByRole('textbox', { name: 'Trees' }).fill('10');

  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await expect(page.getByTestId('stale')).toHaveCount(0);
  await page.getByTestId('sweep-max').selectOption('100000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('busy')).toHaveCount(1);
  await expect(page.getByTestId('train')).toBeDisabled();
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 150_000 });
  await expect(page.getByTestId('train')).toBeEnabled();
});
