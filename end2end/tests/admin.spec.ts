import { test, expect, type Page } from '@playwright/test';
import { hydrated, logIn, signInAtProvider, watchConsole } from './helpers';
import { APP_URL } from '../playwright.config';

const APP_ORIGIN = new URL(APP_URL).origin;

// These journeys disable and sign out demo accounts, so they run on their own after the rest of
// the suite (see the "admin" project in playwright.config.ts), one after the other.
test.describe.configure({ mode: 'serial' });

/** From the login page, logs in as `username`; the provider may still remember them, and then it
 * sends the browser straight back without asking. */
async function logInAgain(page: Page, username: string) {
  await page.goto('/login');
  await page.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/interaction') || (url.origin === APP_ORIGIN && url.pathname !== '/login'));
  if (page.url().includes('/interaction')) await signInAtProvider(page, username);
}

test('a regular user sees no admin link, and /admin is a 403 page', async ({ page }) => {
  await logIn(page, 'alice');
  await expect(page.getByRole('banner').getByRole('link', { name: 'Admin' })).toHaveCount(0);
  for (const path of ['/admin', '/admin/users', '/admin/audit', '/admin/signup']) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(403);
    await expect(page.getByRole('heading', { name: 'You can’t open this page' })).toBeVisible();
    await expect(page.getByRole('table')).toHaveCount(0);
  }
});

test('an admin disables bob while his browser is open; bob is out and stays out until enabled; the audit log shows each step', async ({ browser }) => {
  const bob = await (await browser.newContext()).newPage();
  await logIn(bob, 'bob');
  await expect(bob.getByRole('banner')).toContainText('Bob Stone');

  const admin = await (await browser.newContext()).newPage();
  const problems = watchConsole(admin);
  await logIn(admin, 'admin');
  await admin.getByRole('banner').getByRole('link', { name: 'Admin' }).click();
  await hydrated(admin);

  // Overview.
  await expect(admin.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
  const people = admin.getByRole('definition').filter({ hasText: /^\d+$/ });
  await expect(people.first()).toBeVisible();
  await expect(admin.getByRole('img', { name: /Entries written per day/ })).toBeVisible();

  // Find bob.
  await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Users' }).click();
  await admin.getByLabel('Search by name or email').fill('bob');
  await admin.getByRole('button', { name: 'Search' }).click();
  await expect(admin).toHaveURL(/\/admin\/users\?q=bob/);
  const table = admin.getByRole('table', { name: /accounts/ });
  await expect(table).toContainText('bob@example.com');
  await expect(table).not.toContainText('alice@example.com');
  await admin.getByRole('link', { name: 'Manage Bob Stone' }).click();

  // Disable him, with confirmation.
  await admin.getByRole('link', { name: 'Disable account' }).click();
  await expect(admin.getByRole('dialog', { name: 'Disable account?' })).toBeVisible();
  await admin.getByRole('button', { name: 'Yes, disable Bob Stone' }).click();
  await expect(admin.getByRole('status')).toContainText(/Bob Stone is disabled \(\d+ sessions? ended\)/);
  await expect(admin.getByTestId('account-status')).toHaveText('Disabled');

  // Bob's open browser: his very next request is anonymous.
  await bob.getByRole('link', { name: 'Calendar' }).click();
  await expect(bob).toHaveURL(/\/login\?next=/);
  await expect(bob.getByRole('banner').getByRole('link', { name: 'Log in' })).toBeVisible();

  // He cannot log back in, and is told why.
  await logInAgain(bob, 'bob');
  await expect(bob).toHaveURL(/\/login\/error\?reason=disabled/);
  await expect(bob.getByRole('alert')).toContainText('Your account is disabled');

  // Enable him again; he can log in.
  await admin.getByRole('link', { name: 'Enable account' }).click();
  await admin.getByRole('button', { name: 'Yes, enable Bob Stone' }).click();
  await expect(admin.getByText('Bob Stone is enabled and can log in again.')).toBeVisible();
  await expect(admin.getByTestId('account-status')).toHaveText('Active');
  await logInAgain(bob, 'bob');
  await expect(bob).toHaveURL(/\/journal$/);

  // The audit log tells the story, newest first.
  await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Audit log' }).click();
  const log = admin.getByRole('table', { name: 'Audit log, newest first' });
  const rows = log.getByRole('row');
  await expect(rows.nth(1)).toContainText('Logged in');
  await expect(rows.nth(1)).toContainText('Bob Stone <bob@example.com>');
  await expect(rows.nth(2)).toContainText('Enabled account');
  await expect(rows.nth(2)).toContainText('Ada Admin <admin@example.com>');
  await expect(rows.nth(3)).toContainText('Login refused');
  await expect(rows.nth(3)).toContainText('disabled');
  await expect(rows.nth(4)).toContainText('Disabled account');
  await expect(rows.nth(4)).toContainText('Bob Stone <bob@example.com>');
  await expect(rows.nth(4)).toContainText('127.0.0.1');

  await admin.getByLabel('Show').selectOption({ label: 'Admin actions' });
  await admin.getByRole('button', { name: 'Filter' }).click();
  await expect(admin).toHaveURL(/filter=admin/);
  await expect(log.getByRole('row').nth(1)).toContainText('Enabled account');
  await expect(log).not.toContainText('Logged in');
  expect(problems).toEqual([]);
});

test('the dashboard works without JavaScript: sign someone out everywhere', async ({ browser }) => {
  const alice = await (await browser.newContext()).newPage();
  await logIn(alice, 'alice');

  const context = await browser.newContext({ javaScriptEnabled: false });
  const admin = await context.newPage();
  await admin.goto('/');
  await admin.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await signInAtProvider(admin, 'admin');
  await admin.goto('/admin/users?q=alice');
  await admin.getByRole('link', { name: 'Manage Alice Liddell' }).click();
  await admin.getByRole('link', { name: 'Sign out everywhere' }).click();
  await admin.getByRole('button', { name: 'Yes, sign out Alice Liddell' }).click();
  await expect(admin.getByRole('status')).toContainText(/Alice Liddell is signed out everywhere \(\d+ sessions? ended\)/);

  await alice.reload();
  await expect(alice).toHaveURL(/\/login\?next=/);
});

test('the dashboard fits a phone screen and is usable by keyboard', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const admin = await context.newPage();
  await logIn(admin, 'admin');
  for (const path of ['/admin', '/admin/users', '/admin/audit', '/admin/signup']) {
    await admin.goto(path);
    await hydrated(admin);
    const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
  }
  // Keyboard: tab to the Users tab and open it.
  await admin.goto('/admin');
  await hydrated(admin);
  const usersTab = admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Users' });
  for (let i = 0; i < 30 && !(await usersTab.evaluate((el) => el === document.activeElement)); i++) {
    await admin.keyboard.press('Tab');
  }
  await admin.keyboard.press('Enter');
  await expect(admin).toHaveURL(/\/admin\/users$/);
  await expect(admin.getByRole('link', { name: 'Users' })).toHaveAttribute('aria-current', 'page');
});
