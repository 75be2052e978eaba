// Chromium started without WebGPU: the page says why the GPU path is off and the CPU path works.
const { test, expect, gpuSettled } = require('./fixtures');

test('without WebGPU the CPU path works and the page says why the GPU is off', async ({ page }) => {
  await page.goto('/');
  await gpuSettled(page);
  await expect(page.getByTestId('gpu-off')).toContainText('WebGPU');
  await page.getByRole('button', { name: /Breast cancer/ }).click();
  await expect(page.getByTestId('data-summary')).toContainText('569 rows');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('model-summary')).toContainText('trained here');
  await page.getByTestId('score').click();
  await expect(page.getByTestId('cpu-ms')).toHaveText(/ms$/);
  await expect(page.getByTestId('gpu-ms')).toHaveText('off');
});
