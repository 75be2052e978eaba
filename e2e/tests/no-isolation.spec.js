// The page served without the two cross-origin isolation headers (any static server, a
// laptop's `python3 -m http.server`): no SharedArrayBuffer, so the rows reach the scoring
// workers and the GPU as copies. The CPU and GPU must still agree bit for bit.
const http = require('http');
const fs = require('fs');
const path = require('path');
const { test, expect } = require('@playwright/test');
const { ALL_IDENTICAL } = require('./fixtures');

const DIST = path.join(__dirname, '..', '..', 'dist');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.csv': 'text/csv' };

let server;
let base;

test.beforeAll(async () => {
  server = http.createServer((req, res) => {
    const file = path.join(DIST, decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/\/$/, '/index.html'));
    if (!file.startsWith(DIST) || !fs.existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
});

test.afterAll(() => server.close());

test('without cross-origin isolation the rows are copied, and CPU and GPU still agree', async ({ page }) => {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(false);
  await expect(page.getByTestId('adapter')).not.toBeEmpty();
  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('569 rows');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  await page.getByTestId('score').click();
  await expect(page.getByTestId('score-result')).toBeVisible();
  await expect(page.getByTestId('busy')).toHaveCount(0);
  expect(await page.getByTestId('gpu-ms').innerText(), 'the GPU scored').toMatch(/ms$/);
  await expect(page.getByTestId('max-diff')).toHaveText(ALL_IDENTICAL);
  // The sweep repeats the rows in the data worker: sizes past the data's own rows.
  await page.getByTestId('sweep-max').selectOption('1000');
  await page.getByTestId('sweep').click();
  await expect(page.getByTestId('sweep-table').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('busy')).toHaveCount(0);
  await expect(page.getByTestId('sweep-table')).not.toContainText('differ');
  expect(errors).toEqual([]);
});
