// Times the page from a CSV dropped on it to its preview, in Chromium: for each page address
// given, loads the file --runs times (a fresh page each time) and prints the median of the
// wall time seen from here (setInputFiles to the preview) and of the time the page reports in
// its "Loaded NAME (... MB read in T)" notice (from the change event on; older builds say none).
// Serve each build first, e.g. `python3 scripts/coi_server.py DIST PORT`.
// Usage (from e2e/, where Playwright is installed):
//   node ../scripts/page_csv_bench.js FILE.csv URL [URL...] [--runs 3]
const { chromium } = require(require.resolve('@playwright/test', { paths: [process.cwd()] }));
const path = require('path');

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

(async () => {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3;
  const [file, ...urls] = args;
  const name = path.basename(file);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking'],
  });
  for (const url of urls) {
    const walls = [], reported = [];
    for (let r = 0; r < runs; r++) {
      const page = await browser.newPage();
      await page.goto(url);
      await page.getByTestId('csv-input').waitFor({ state: 'attached' });
      const t0 = Date.now();
      await page.getByTestId('csv-input').setInputFiles(file);
      await page.getByTestId('data-summary').filter({ hasText: name }).waitFor({ timeout: 120000 });
      walls.push((Date.now() - t0) / 1000);
      const notice = await page.getByTestId('notice').first().textContent().catch(() => '');
      const m = /read in ([\d.,]+)\s*(ms|s)/.exec(notice || '');
      if (m) reported.push(Number(m[1].replace(',', '')) / (m[2] === 'ms' ? 1000 : 1));
      await page.close();
    }
    console.log(`${url}: ${name}, wall (setInputFiles to preview) median ${median(walls).toFixed(2)} s ` +
      `of [${walls.map((w) => w.toFixed(2)).join(', ')}]` +
      (reported.length ? `; the page's own figure median ${median(reported).toFixed(2)} s` : ''));
  }
  await browser.close();
})();
