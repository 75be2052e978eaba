// Trust in what trains: an ID-like column is flagged and left out, any column can be left out,
// the saved model's features are exactly the columns that trained, and targets that cannot
// train (a name per row, numbers with stray words) are refused with the reason.
const { test, expect, gpuSettled, download } = require('./fixtures');

const rows = Array.from({ length: 400 }, (_, i) =>
  `P${String(i * 7 + 3).padStart(5, '0')},${20 + (i % 60)},${'ABC'[i % 3]},${i % 5},${['no', 'yes'][Math.floor(i / 3) % 2]}`);
const csv = 'patient_id,age,ward,visits,readmitted\n' + rows.join('\n') + '\n';

/// Trains `trees` trees (a count of its own, to tell this model from the one before).
async function trainedFeatures(page, trees) {
  await page.getByLabel('Trees', { exact: true }).fill(String(trees));
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText(`${trees} trees`);
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  const model = await download(page, () => page.getByTestId('save-model').click());
  return JSON.parse(model.text).schema.features.map((f) => f.name).sort();
}

test('an ID column is left out, and the column table chooses what trains', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles({ name: 'readmit.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await expect(page.getByTestId('left-out')).toContainText('patient_id (ID-like: 400 distinct values in 400 rows)');
  expect(await trainedFeatures(page, 10)).toEqual(['age', 'visits', 'ward']);

  await page.getByText('Column types and missing values').click();
  await page.getByLabel('train on patient_id').check();
  await page.getByLabel('train on ward').uncheck();
  await expect(page.getByTestId('left-out')).toHaveText(/^Left out of training: ward \(left out by choice\)/);
  expect(await trainedFeatures(page, 12)).toEqual(['age', 'patient_id', 'visits']);
});

async function upload(page, name, text) {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
  await expect(page.getByTestId('data-summary')).toContainText(name);
}

test('a name per row as the target is refused at once, naming the column', async ({ page }) => {
  await upload(page, 'names.csv', 'x,name\n' + Array.from({ length: 3000 }, (_, i) => `${i % 7},person${i}`).join('\n'));
  await page.getByTestId('train').click();
  await expect(page.getByTestId('notice')).toContainText('"name"');
  await expect(page.getByTestId('notice')).toContainText('too many classes');
});

test('numbers with stray words are a regression target whose words are named', async ({ page }) => {
  const cells = Array.from({ length: 200 }, (_, i) => (i === 17 ? 'oops' : i === 150 ? 'high' : `${(i % 187) + 0.5}`));
  await upload(page, 'stray.csv', 'x,y\n' + cells.map((c, i) => `${i},${c}`).join('\n'));
  await page.getByTestId('train').click();
  await expect(page.getByTestId('notice')).toContainText('row 18, column "y": "oops" is not a number');
  await expect(page.getByTestId('notice')).toContainText('also not usable: row 151 "high"');
});

test('balanced class weights are kept in the saved model', async ({ page }) => {
  await upload(page, 'readmit.csv', csv);
  await page.getByLabel('Class weight', { exact: true }).selectOption('balanced');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  const model = await download(page, () => page.getByTestId('save-model').click());
  const json = JSON.parse(model.text);
  expect(json.params.class_weight).toBe('balanced');
  expect(json.evaluation.test_rows).toBe(100);
  expect(json.id_columns).toEqual(['patient_id']);
});
