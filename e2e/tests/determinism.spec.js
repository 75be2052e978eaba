// The same seed, data and settings grow the same forest in the page's web workers (wasm) and in
// the CLI (native): the saved model files are byte-identical, for each split criterion.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { test, expect, gpuSettled, download } = require('./fixtures');

const root = path.join(__dirname, '..', '..');
const forest = path.join(root, 'target', 'release', 'forest');

const cases = [
  { data: /Breast cancer/, csv: 'breast_cancer.csv', target: 'diagnosis', criterion: 'gini' },
  { data: /Breast cancer/, csv: 'breast_cancer.csv', target: 'diagnosis', criterion: 'entropy' },
  { data: /Diabetes/, csv: 'diabetes.csv', target: 'progression', criterion: 'squared_error' },
];

for (const c of cases) {
  test(`page and CLI save the same model bytes (${c.criterion})`, async ({ page }) => {
    expect(fs.existsSync(forest), `${forest} (built by cargo test --release)`).toBe(true);
    const settings = { Trees: '24', 'Max depth': '7', 'Max features': 'sqrt', 'Min samples per leaf': '2', Seed: '11', Criterion: c.criterion };
    await page.goto('/');
    await gpuSettled(page);
    await page.getByRole('button', { name: c.data }).click();
    await expect(page.getByTestId('data-summary')).toContainText(c.csv);
    for (const [label, value] of Object.entries(settings)) {
      const field = page.getByLabel(label, { exact: true });
      // Criterion is a select: its choices are exact.
      if (label === 'Criterion') await field.selectOption(value); else await field.fill(value);
    }
    await page.getByTestId('train').click();
    await expect(page.getByTestId('model-summary')).toContainText('trained here');
    const fromPage = await download(page, () => page.getByTestId('save-model').click());

    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'forest-')), 'model.json');
    execFileSync(forest, [
      'train', '--csv', path.join(root, 'assets', c.csv), '--target', c.target,
      '--trees', settings.Trees, '--max-depth', settings['Max depth'], '--max-features', settings['Max features'],
      '--min-samples-leaf', settings['Min samples per leaf'], '--seed', settings.Seed,
      '--criterion', c.criterion, '--test-fraction', '0.25', '--model-out', out,
    ]);
    const fromCli = fs.readFileSync(out, 'utf8');
    // Compare parsed first, for a readable difference, then the bytes.
    expect(JSON.parse(fromPage.text)).toEqual(JSON.parse(fromCli));
    expect(fromPage.text).toBe(fromCli);
  });
}
