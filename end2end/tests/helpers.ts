import { expect, type Page } from '@playwright/test';
import { APP_URL } from '../playwright.config';

export const DEMO_PASSWORD = 'quire-demo';

/** Collects console errors and uncaught exceptions of Quire's pages (the development provider's
 * own pages are not Quire's business). */
export function watchConsole(page: Page, appUrl: string = APP_URL): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    const where = msg.location().url || page.url();
    if (msg.type() === 'error' && where.startsWith(appUrl)) problems.push(`console: ${msg.text()} (${where})`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

/** Collects the names of the lazily loaded wasm chunks (`split_…`) the page fetches. */
export function watchChunks(page: Page): string[] {
  const chunks: string[] = [];
  page.on('request', (request) => {
    const name = new URL(request.url()).pathname.split('/').pop() ?? '';
    if (name.startsWith('split_')) chunks.push(name);
  });
  return chunks;
}

/** Waits until the wasm has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
}

/** On the development provider's sign-in page: signs in as a demo account. */
export async function signInAtProvider(page: Page, username: string) {
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Logs in from the home page and waits for the journal. */
export async function logIn(page: Page, username: string) {
  await page.goto('/');
  await page.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await signInAtProvider(page, username);
  await expect(page).toHaveURL(/\/journal$/);
}
