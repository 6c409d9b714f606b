import { test, expect } from '@playwright/test';
import { hydrated, logIn, signInAtProvider, watchConsole } from './helpers';

test('the anonymous home page explains Quire and offers to log in', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('A journal that stays yours.');
  await expect(page.getByRole('main').getByRole('button', { name: 'Log in' })).toBeVisible();
  await expect(page.getByRole('banner').getByRole('link', { name: 'Log in' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Log out' })).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('a protected page leads through login and back to that very page', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/journal');
  await expect(page).toHaveURL(/\/login\?next=%2Fjournal$/);
  await page.getByRole('main').getByRole('button', { name: 'Log in' }).click();

  await signInAtProvider(page, 'alice');

  await expect(page).toHaveURL(/\/journal$/);
  await expect(page.getByRole('heading', { name: 'Your journal' })).toBeVisible();
  const header = page.getByRole('banner');
  await expect(header).toContainText('Alice Liddell');
  await expect(header.getByRole('button', { name: 'Log out' })).toBeVisible();
  await expect(header.getByRole('link', { name: 'Admin' })).toHaveCount(0);
  await hydrated(page);

  // Reloading keeps the session.
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole('banner')).toContainText('Alice Liddell');
  expect(problems).toEqual([]);
});

test('logging out ends the session and closes protected pages again', async ({ page }) => {
  await logIn(page, 'bob');
  await hydrated(page);
  await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();

  // The provider ends its session too and sends the browser home.
  await expect(page).toHaveURL('/');
  await expect(page.getByRole('banner').getByRole('link', { name: 'Log in' })).toBeVisible();
  await page.goto('/journal');
  await expect(page).toHaveURL(/\/login\?next=%2Fjournal$/);

  // The provider session is gone as well: logging in asks for credentials again.
  await page.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});

test('an unverified email that claims the admin address does not make an admin', async ({ page }) => {
  await logIn(page, 'mallory');
  await expect(page.getByRole('banner')).toContainText('Mallory Unverified');
  await expect(page.getByRole('banner').getByRole('link', { name: 'Admin' })).toHaveCount(0);
});

test('cancelling at the provider lands on a friendly login-error page', async ({ page }) => {
  await page.goto('/login');
  await page.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(/\/login\/error\?reason=denied/);
  await expect(page.getByRole('heading', { name: 'We couldn’t log you in' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('cancelled');
  await page.getByRole('link', { name: 'Try again' }).click();
  await expect(page).toHaveURL(/\/login$/);
});

test('a cross-site form post is refused and changes nothing', async ({ page }) => {
  await logIn(page, 'alice');
  // A page on another site that tries to log the person out behind their back.
  await page.route('http://evil.test/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<form method="post" action="http://127.0.0.1:3100/api/auth/logout"><button>Win a prize</button></form>`,
    }),
  );
  await page.goto('http://evil.test/');
  const [response] = await Promise.all([
    page.waitForResponse('http://127.0.0.1:3100/api/auth/logout'),
    page.getByRole('button', { name: 'Win a prize' }).click(),
  ]);
  expect(response.status()).toBe(403);
  await page.goto('/journal');
  await expect(page.getByRole('banner')).toContainText('Alice Liddell');
});

test('unknown addresses show the 404 page', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});
