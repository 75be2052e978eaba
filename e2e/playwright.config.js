// End-to-end tests of the page, in Debian's Chromium, against the page that `trunk serve`
// builds and serves (as scripts/run.sh does). One worker: CI has two cores, and the page's
// own web workers need them.
const { defineConfig } = require('@playwright/test');

const PORT = Number(process.env.E2E_PORT || 8091);
const baseArgs = [
  '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

module.exports = defineConfig({
  testDir: './tests',
  // Under target/, which trunk's watcher ignores: a write it sees rebuilds and swaps dist/ mid-test.
  outputDir: '../target/e2e-results',
  timeout: 180_000,
  expect: { timeout: 60_000 },
  workers: 1,
  // A stray test.only would silently skip the rest of the suite.
  forbidOnly: true,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}/`,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'webgpu',
      testIgnore: /no-webgpu/,
      use: { launchOptions: { executablePath: '/usr/bin/chromium', args: ['--enable-unsafe-webgpu', ...baseArgs] } },
    },
    {
      name: 'no-webgpu',
      testMatch: /no-webgpu/,
      use: { launchOptions: { executablePath: '/usr/bin/chromium', args: baseArgs } },
    },
  ],
  webServer: {
    command: `trunk --config trunk.toml serve --skip-version-check --release --no-autoreload --address 127.0.0.1 --port ${PORT}`,
    cwd: '..',
    url: `http://127.0.0.1:${PORT}/`,
    timeout: 900_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
