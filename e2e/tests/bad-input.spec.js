// Bad input: each file gets a clear message, the page keeps working, and what the user had
// (data, trained model) survives.
const { test, expect, gpuSettled } = require('./fixtures');

async function upload(page, name, text) {
  await page.getByTestId('csv-input').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
}

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await page.getByRole('button', { name: /Diabetes/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('diabetes.csv');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
});

/// The trained model survived, and scores the model's own data again.
async function stillWorks(page) {
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  await page.getByRole('button', { name: /Diabetes/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('diabetes.csv');
  await page.getByTestId('score').click();
  await expect(page.getByTestId('cpu-ms')).toHaveText(/ms$/);
}

test('a broken CSV names the row', async ({ page }) => {
  await upload(page, 'broken.csv', 'a,b,c\n1,2,3\n4,5\n6,7,8\n');
  await expect(page.getByTestId('notice')).toContainText('broken.csv');
  await expect(page.getByTestId('notice')).toContainText('row 2 (line 3)');
  await expect(page.getByTestId('data-summary')).toContainText('diabetes.csv');
  await stillWorks(page);
});

test('a target with a single value says so', async ({ page }) => {
  await upload(page, 'one-class.csv', 'x,label\n' + Array.from({ length: 40 }, (_, i) => `${i},yes`).join('\n'));
  await expect(page.getByTestId('data-summary')).toContainText('one-class.csv');
  await page.getByTestId('task').selectOption('classification');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('notice')).toContainText('only one class');
  await stillWorks(page);
});

test('a text cell in a regression target names its row and column', async ({ page }) => {
  await upload(page, 'text-target.csv', 'x,y\n' + Array.from({ length: 30 }, (_, i) => `${i},${i === 17 ? 'high' : i}`).join('\n'));
  await page.getByTestId('task').selectOption('regression');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('notice')).toContainText('"high"');
  await expect(page.getByTestId('notice')).toContainText('"y"');
  await stillWorks(page);
});

test('Excel exports: Windows-1252 text is converted and said, a workbook gets the way out', async ({ page }) => {
  // European Excel's "CSV": `;`, decimal commas, é as the single byte 0xE9, and € as 0x80
  // (where Windows-1252 and Latin-1 differ).
  const latin = Buffer.concat([Buffer.from('ville;prix\nOrl'), Buffer.from([0xe9]), Buffer.from('ans '),
    Buffer.from([0x80]), Buffer.from(';1,5\nLyon;2\n')]);
  await page.getByTestId('csv-input').setInputFiles({ name: 'prix.csv', mimeType: 'text/csv', buffer: latin });
  await expect(page.getByTestId('notice')).toContainText('windows-1252');
  await expect(page.getByTestId('data-summary')).toContainText('prix.csv');
  await expect(page.getByTestId('preview')).toContainText('Orléans €');
  await page.getByTestId('csv-input').setInputFiles({
    name: 'book.csv', mimeType: 'text/csv', buffer: Buffer.from('PK\x03\x04\x14\x00\x06\x00rest', 'latin1'),
  });
  await expect(page.getByTestId('notice')).toContainText('Excel workbook (.xlsx)');
  await expect(page.getByTestId('notice')).toContainText('CSV UTF-8');
  await expect(page.getByTestId('data-summary')).toContainText('prix.csv');
  await stillWorks(page);
});

test('a file too large for the page is refused before it is read', async ({ page }) => {
  const dt = await page.evaluateHandle(() => {
    const t = new DataTransfer();
    t.items.add(new File([new Uint8Array(300 * 1024 * 1024)], 'huge.csv', { type: 'text/csv' }));
    return t;
  });
  await page.getByTestId('drop').dispatchEvent('drop', { dataTransfer: dt });
  await expect(page.getByTestId('notice')).toContainText('huge.csv');
  await expect(page.getByTestId('notice')).toContainText('up to 268 MB');
  await stillWorks(page);
});

test('more synthetic rows than the page can hold are refused', async ({ page }) => {
  await page.getByLabel('synthetic rows').fill('1000000000');
  await page.getByRole('button', { name: 'Generate synthetic rows' }).click();
  await expect(page.getByTestId('notice')).toContainText('rows 1000000000: at most 2097152 synthetic rows');
  await expect(page.getByTestId('data-summary')).toContainText('diabetes.csv');
  await stillWorks(page);
});

test('a sweep size past what the page can hold is refused in words, and the sizes before it stay', async ({ page }) => {
  // 70 features: 1M rows of them are 280 MB, over the page's 256 MB (the data worker's bound
  // on the rows it repeats for a sweep size).
  const features = Array.from({ length: 70 }, (_, j) => `f${j}`);
  const rows = Array.from({ length: 40 }, (_, i) => features.map((_, j) => (i * 7 + j) % 13).join(',') + `,${i % 2}`);
  await upload(page, 'wide.csv', [...features, 'outcome'].join(',') + '\n' + rows.join('\n'));
  await expect(page.getByTestId('data-summary')).toContainText('wide.csv');
  await page.getByTestId('target').selectOption('outcome');
  await page.getByRole('textbox', { name: 'Trees' }).fill('5');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('"outcome"');
  await page.getByTestId('sweep-max').selectOption('1000000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('notice')).toContainText('1,000,000 rows of 70 features are more than the page can hold (256 MB)');
  await expect(page.getByTestId('sweep-table').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('sweep-table')).not.toContainText('differ');
  // The page goes on: the model (trained on these rows) scores them again.
  await page.getByTestId('score').click();
  await expect(page.getByTestId('cpu-ms')).toHaveText(/ms$/);
});

test('a model file that is not a model is refused', async ({ page }) => {
  await page.getByTestId('model-input').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
  await expect(page.getByTestId('notice')).toContainText('not a usable model file');
  await stillWorks(page);
});

test('HTML in a header is shown as text and runs nothing', async ({ page }) => {
  const header = '<img src=x onerror="window.__pwned=1">';
  await upload(page, 'xss.csv', `"${header.replace(/"/g, '""')}",y\n` + Array.from({ length: 20 }, (_, i) => `${i},${i % 2}`).join('\n'));
  await expect(page.getByTestId('preview').locator('th').first()).toHaveText(header);
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  await stillWorks(page);
});

test('a forest of 100,000 trees is refused at once, and the model stays', async ({ page }) => {
  await page.getByLabel('Trees', { exact: true }).fill('100000');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('notice')).toContainText('at most 10,000');
  await expect(page.getByTestId('progress')).toHaveCount(0);
  // The settings with exact choices are selects: nothing to mistype.
  await expect(page.getByLabel('Criterion', { exact: true })).toHaveJSProperty('tagName', 'SELECT');
  await page.getByLabel('Trees', { exact: true }).fill('20');
  await stillWorks(page);
});
