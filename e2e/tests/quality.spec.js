// The Quality card a clinician reads: the baseline beside the model, a headline chosen for the
// classes' balance (not plain accuracy when the outcome is rare), sensitivity and specificity,
// and all of it kept by a saved model that is loaded back.
const { test, expect, gpuSettled, download } = require('./fixtures');

// 600 admissions, 1 in 9 readmitted: half of those with 7 or 8 earlier visits.
const rows = Array.from({ length: 600 }, (_, i) => {
  const visits = i % 9;
  const readmitted = visits >= 7 && i % 2 === 0 ? 'yes' : 'no';
  return `${30 + (i * 7) % 50},${visits},${'ABC'[i % 3]},${readmitted}`;
});
const hospital = 'age,visits,ward,readmitted\n' + rows.join('\n') + '\n';

test('a rare outcome leads with ROC AUC and shows the baseline it must beat', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles({ name: 'hospital.csv', mimeType: 'text/csv', buffer: Buffer.from(hospital) });
  await expect(page.getByTestId('target')).toHaveValue('readmitted');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  const card = page.locator('section', { has: page.getByRole('heading', { name: /Quality/ }) });
  await expect(card).toContainText('ROC AUC (held-out)');
  await expect(page.getByTestId('baseline')).toHaveText(/^\d+\.\d%$/);
  await expect(card).toContainText('Always "no" (baseline)');
  await expect(page.getByTestId('headline-note')).toContainText('the classes are imbalanced');
  await expect(page.getByTestId('sensitivity')).toHaveText(/%$/);
  await expect(page.getByTestId('specificity')).toHaveText(/%$/);
  const auc = parseFloat(await page.getByTestId('headline').innerText());
  expect(auc).toBeGreaterThan(0.5);
  expect(auc).toBeLessThanOrEqual(1);
  const figures = await page.getByTestId('balanced-accuracy').innerText();

  // Saved and loaded back: the same figures and the confusion matrix.
  const model = await download(page, () => page.getByTestId('save-model').click());
  const saved = JSON.parse(model.text);
  expect(saved.evaluation.quality.classification.headline.metric).toBe('roc_auc');
  expect(saved.class_counts.reduce((a, b) => a + b, 0)).toBe(saved.train_rows);
  await page.getByTestId('model-input').setInputFiles({ name: 'hospital-model.json', mimeType: 'application/json', buffer: Buffer.from(model.text) });
  await expect(page.getByTestId('model-summary')).toContainText('loaded');
  await expect(card).toContainText('ROC AUC (held-out, when trained)');
  await expect(page.getByTestId('balanced-accuracy')).toHaveText(figures);
  await expect(page.locator('table.confusion tbody tr')).toHaveCount(2);
});

test('balanced classes lead with accuracy, beside the baseline', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  const card = page.locator('section', { has: page.getByRole('heading', { name: /Quality/ }) });
  await expect(card).toContainText('Accuracy (held-out)');
  await expect(card).toContainText('Always "benign" (baseline)');
  await expect(page.getByTestId('headline-note')).toContainText('the model does better');
  expect(parseFloat(await page.getByTestId('roc-auc').innerText())).toBeGreaterThan(0.9);
});

test('a file of new patients, without the target, is rows to score: nothing switches', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles({ name: 'hospital.csv', mimeType: 'text/csv', buffer: Buffer.from(hospital) });
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  const newPatients = 'age,visits,ward\n' + rows.slice(0, 40).map((r) => r.split(',').slice(0, 3).join(',')).join('\n') + '\n';
  await page.getByTestId('csv-input').setInputFiles({ name: 'new-patients.csv', mimeType: 'text/csv', buffer: Buffer.from(newPatients) });
  await expect(page.getByTestId('data-summary')).toContainText('new-patients.csv');
  await expect(page.getByTestId('target')).toHaveValue('');
  await expect(page.getByTestId('rows-to-score')).toContainText('no "readmitted" column');
  await expect(page.getByTestId('train')).toBeDisabled();
  // The readmission model stays, and scores the new rows.
  await expect(page.getByTestId('model-summary')).toContainText('classification of "readmitted"');
  await page.getByTestId('score').click();
  await expect(page.getByTestId('score-result')).toBeVisible();
  // Training on them is a choice.
  await page.getByTestId('target').selectOption('visits');
  await expect(page.getByTestId('train')).toBeEnabled();
  await expect(page.getByTestId('rows-to-score')).toHaveCount(0);
});

test('a patient with several admissions is held out whole, and the page says so', async ({ page }) => {
  // 600 admissions of 200 patients, 3 each.
  const rows = Array.from({ length: 600 }, (_, i) => {
    const p = i % 200;
    return `P${String(p).padStart(4, '0')},${30 + (p * 7) % 50},${i % 9},${p % 7 === 0 ? 'yes' : 'no'}`;
  });
  const csv = 'patient,age,visits,readmitted\n' + rows.join('\n') + '\n';
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles({ name: 'admissions.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await expect(page.getByTestId('left-out')).toContainText('patient (group-like: 200 values in 600 rows, 3.0 each');
  await expect(page.getByTestId('group').locator('option').first()).toHaveText('auto (patient)');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  await expect(page.getByTestId('held-out-by')).toContainText('Held out by patient');
  // Each tree draws whole patients: an out-of-bag score about patients a tree never saw.
  await expect(page.getByTestId('held-out-by')).toContainText('draws whole patients');
  await expect(page.getByTestId('oob')).toHaveText(/%$/);
  const model = await download(page, () => page.getByTestId('save-model').click());
  expect(JSON.parse(model.text).evaluation.group).toBe('patient');

  // Rows at random, when asked: no grouping claimed.
  await page.getByTestId('group').selectOption('none');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('held-out-by')).toHaveCount(0);
  await expect(page.getByTestId('oob')).toHaveText(/%$/);
});

test('the decision threshold moves the confusion matrix live, and the model keeps and uses it', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles({ name: 'hospital.csv', mimeType: 'text/csv', buffer: Buffer.from(hospital) });
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  await expect(page.getByTestId('threshold-value')).toHaveText('the more probable class');
  await expect(page.getByTestId('roc-curve').locator('polyline')).toHaveCount(1);
  await expect(page.getByTestId('calibration').locator('circle').first()).toBeVisible();
  const cells = page.getByTestId('threshold-confusion').locator('td');
  await expect(cells).toHaveCount(4);
  const count = async () => Promise.all((await cells.allInnerTexts()).map(Number));
  const before = await count();
  const heldOut = before.reduce((a, b) => a + b, 0);

  // The lowest threshold: every held-out row is predicted "yes".
  await page.getByTestId('threshold').fill('0');
  await expect(page.getByTestId('sensitivity')).toHaveText('100.0%');
  await expect(page.getByTestId('specificity')).toHaveText('0.0%');
  const all = await count();
  expect(all[0] + all[2]).toBe(0);
  expect(all.reduce((a, b) => a + b, 0)).toBe(heldOut);
  await expect(page.getByTestId('curve-marker')).toHaveCount(2);
  const shown = await page.getByTestId('threshold-value').innerText();

  // Saved with the model, at the curve's lowest threshold.
  const model = await download(page, () => page.getByTestId('save-model').click());
  const saved = JSON.parse(model.text);
  const curve = saved.evaluation.quality.classification.curve;
  expect(saved.threshold).toBe(curve.thresholds[curve.thresholds.length - 1]);
  expect(shown).toBe(saved.threshold.toFixed(3));

  // Predictions use it: every held-out row "yes"; the file says which rows were held out.
  await page.getByTestId('score').click();
  await expect(page.getByTestId('score-result')).toBeVisible();
  await expect(page.getByTestId('busy')).toHaveCount(0);
  const preds = await download(page, () => page.getByTestId('export').click());
  expect(preds.name).toBe('hospital-readmitted-forest-predictions.csv');
  const lines = preds.text.trim().split('\n');
  expect(lines[0]).toBe('row,split,actual,prediction,proba_no,proba_yes');
  const test = lines.slice(1).map((l) => l.split(',')).filter((l) => l[1] === 'test');
  expect(test.length).toBe(heldOut);
  expect(test.every((l) => l[3] === 'yes')).toBe(true);

  // The presenter sees how good the forest is beside the race, at this threshold.
  await page.getByTestId('stage').click();
  await expect(page.getByTestId('quality-strip')).toContainText('ROC AUC');
  await expect(page.getByTestId('strip-sensitivity')).toHaveText('100.0%');
  await page.getByTestId('stage').click();

  // Loaded back: the same threshold and figures; then back to the more probable class.
  await page.getByTestId('model-input').setInputFiles({ name: 'hospital-model.json', mimeType: 'application/json', buffer: Buffer.from(model.text) });
  await expect(page.getByTestId('model-summary')).toContainText('loaded');
  await expect(page.getByTestId('threshold-value')).toHaveText(shown);
  await expect(page.getByTestId('sensitivity')).toHaveText('100.0%');
  await page.getByTestId('threshold-reset').click();
  await expect(page.getByTestId('threshold-value')).toHaveText('the more probable class');
  expect(await count()).toEqual(before);
});
