// Bring your own forest: an XGBoost model exported to ONNX (tests/fixtures/onnx) loads in the
// page, says what it is, and races on the CPU and the GPU with ONNX Runtime's outputs.
const path = require('path');
const fs = require('fs');
const { test, expect, gpuSettled, download, ALL_IDENTICAL } = require('./fixtures');

const FIX = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'onnx');

function csvRows(file) {
  return fs.readFileSync(path.join(FIX, file), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
}

test('an ONNX model from XGBoost scores the loaded CSV on CPU and GPU as ONNX Runtime does', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByTestId('csv-input').setInputFiles(path.join(FIX, 'rows_2_nan.csv'));
  await expect(page.getByTestId('data-summary')).toContainText('64 rows');

  await page.getByTestId('model-input').setInputFiles(path.join(FIX, 'xgb_binary_nan.onnx'));
  await expect(page.getByTestId('imported')).toContainText('ONNX TreeEnsembleClassifier from OnnxMLTools');
  await expect(page.getByTestId('imported')).toContainText('6 features, 2 classes (0, 1)');

  await page.getByTestId('score').click();
  await expect(page.getByTestId('score-result')).toBeVisible();
  await expect(page.getByTestId('busy')).toHaveCount(0);
  expect(await page.getByTestId('cpu-ms').innerText()).toMatch(/ms$/);
  expect(await page.getByTestId('gpu-ms').innerText(), 'the GPU scored').toMatch(/ms$/);
  await expect(page.getByTestId('max-diff')).toHaveText(ALL_IDENTICAL);

  // The exported predictions are ONNX Runtime's probabilities (1e-5) and labels.
  const got = await download(page, () => page.getByTestId('export').click());
  const lines = got.text.trim().split('\n');
  expect(lines[0]).toBe('row,prediction,proba_0,proba_1');
  const want = csvRows('xgb_binary_nan.csv');
  expect(lines.length - 1).toBe(want.length);
  lines.slice(1).forEach((l, i) => {
    const [, label, p0, p1] = l.split(',');
    expect(label, `row ${i + 1}`).toBe(want[i][0]);
    expect(Math.abs(parseFloat(p0) - parseFloat(want[i][1]))).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(parseFloat(p1) - parseFloat(want[i][2]))).toBeLessThanOrEqual(1e-5);
  });

  // A graph this program does not score is refused by name; the loaded model stays.
  await page.getByTestId('model-input').setInputFiles(path.join(FIX, 'bad_scaler.onnx'));
  await expect(page.getByTestId('notice')).toContainText('Scaler');
  await expect(page.getByTestId('imported')).toContainText('OnnxMLTools');

  // A CSV with another column count cannot be scored, and the page says so with both counts.
  await page.getByTestId('csv-input').setInputFiles({
    name: 'wide.csv', mimeType: 'text/csv', buffer: Buffer.from('a,b,c\n1,2,3\n4,5,6\n'),
  });
  await expect(page.getByTestId('data-summary')).toContainText('wide.csv');
  await expect(page.getByTestId('score')).toBeDisabled();
  await expect(page.getByTestId('score-blocked')).toHaveText('This model reads 6 columns in order; wide.csv has 3.');
});
