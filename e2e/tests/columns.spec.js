// Which columns train: an ID-like column is flagged and left out, any column can be left out,
// and the saved model's features are exactly the columns that trained.
const { test, expect, gpuSettled, download } = require('./fixtures');

const rows = Array.from({ length: 400 }, (_, i) =>
  `P${String(i * 7 + 3).padStart(5, '0')},${20 + (i % 60)},${'ABC'[i % 3]},${i % 5},${['no', 'yes'][Math.floor(i / 3) % 2]}`);
const csv = 'patient_id,age,ward,visits,readmitted\n' + rows.join('\n') + '\n';

async function trainedFeatures(page) {
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  const model = await download(page, () => page.getByTestId('save-model').click());
  return JSON.parse(model.text).schema.features.map((f) => f.name).sort();
}

test('an ID column is left out, and the column table chooses what trains', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles({ name: 'readmit.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await expect(page.getByTestId('left-out')).toContainText('patient_id (ID-like: 400 distinct values in 400 rows)');
  await page.getByLabel('Trees', { exact: true }).fill('10');
  expect(await trainedFeatures(page)).toEqual(['age', 'visits', 'ward']);

  await page.getByText('Column types and missing values').click();
  await page.getByLabel('train on patient_id').check();
  await page.getByLabel('train on ward').uncheck();
  await expect(page.getByTestId('left-out')).toHaveText(/^Left out of training: ward \(left out by choice\)/);
  expect(await trainedFeatures(page)).toEqual(['age', 'patient_id', 'visits']);
});
