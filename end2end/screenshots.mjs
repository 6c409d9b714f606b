// Refreshes the README's screenshots from a running `.ci/start` (http://127.0.0.1:3000).
// Usage: node end2end/screenshots.mjs   (from the repository root)
import { chromium } from '@playwright/test';

const APP = process.env.QUIRE_URL || 'http://127.0.0.1:3000';
const OUT = new URL('../docs/screenshots/', import.meta.url).pathname;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
await page.goto(`${APP}/`);
await page.screenshot({ path: `${OUT}/home.png` });
await page.getByRole('main').getByRole('link', { name: 'Log in' }).click();
await page.getByRole('main').getByRole('button', { name: 'Log in with Dev ID' }).click();
await page.getByLabel('Username').fill('admin');
await page.getByLabel('Password').fill('quire-demo');
await page.getByRole('button', { name: 'Sign in' }).click();
await page.waitForURL(/\/journal$/);
await page.goto(`${APP}/admin`);
await page.locator('svg.bar-chart').waitFor();
await page.screenshot({ path: `${OUT}/admin.png`, fullPage: true });
await page.setViewportSize({ width: 1280, height: 620 });
await page.goto(`${APP}/admin/users`);
await page.getByRole('table').waitFor();
await page.screenshot({ path: `${OUT}/admin-users.png` });
await browser.close();
console.log(`screenshots written to ${OUT}`);
