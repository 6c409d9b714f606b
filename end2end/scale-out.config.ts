import { defineConfig } from '@playwright/test';

// Two Quire instances behind nginx, started by .ci/scale-out (not by Playwright): the browser
// only ever talks to the proxy.
export default defineConfig({
  testDir: './scale-out',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL: process.env.SCALE_OUT_URL || 'http://127.0.0.1:3200',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
