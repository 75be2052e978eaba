// A page fixture that records what the page did: console errors, uncaught errors, requests to
// other origins and long tasks on the page's thread. A failing test prints all of it, with the
// page's visible text.
const base = require('@playwright/test');

exports.test = base.test.extend({
  page: async ({ page, baseURL }, use, testInfo) => {
    const origin = new URL(baseURL).origin;
    const log = { console: [], errors: [], foreign: [] };
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log.console.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => log.errors.push(e.message));
    page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin) {
        log.foreign.push(url);
      }
    });
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    page.log = log;
    await use(page);
    if (testInfo.status !== testInfo.expectedStatus) {
      const text = await page.locator('body').innerText().catch(() => '(page closed)');
      console.log(`--- page text ---\n${text}\n--- console ---\n${log.console.join('\n')}\n--- page errors ---\n${log.errors.join('\n')}`);
    }
    base.expect(log.foreign, 'requests to other origins').toEqual([]);
    base.expect(log.errors, 'uncaught errors in the page').toEqual([]);
  },
});
exports.expect = base.expect;

/// Waits until the GPU badge has settled (adapter found, or the reason it is off).
exports.gpuSettled = async (page) => {
  await base.expect(page.getByTestId('gpu-status')).not.toContainText('Looking for WebGPU', { timeout: 60_000 });
};

/// The page opened, the bundled breast-cancer rows loaded and a forest of `trees` trained.
exports.trained = async (page, trees = '10') => {
  await page.goto('/');
  await exports.gpuSettled(page);
  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await base.expect(page.getByTestId('data-summary')).toContainText('569 rows');
  await page.getByRole('textbox', { name: 'Trees' }).fill(trees);
  await page.getByTestId('train').click();
  await base.expect(page.getByTestId('model-summary')).toContainText('trained here');
};

/// Every engine ran and gave the same bits: the outputs line names the GPU among them (a
/// software one is called so) and says bit-identical.
exports.ALL_IDENTICAL = /^CPU 1 thread, \d+ CPU workers? and (software )?GPU: outputs bit-identical$/;

/// Text of a download triggered by `click`.
exports.download = async (page, click) => {
  const [dl] = await Promise.all([page.waitForEvent('download'), click()]);
  const fs = require('fs');
  return { name: dl.suggestedFilename(), text: fs.readFileSync(await dl.path(), 'utf8'), path: await dl.path() };
};
