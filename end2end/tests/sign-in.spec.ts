import { test, expect, type Page } from '@playwright/test';
import { SIGNIN_APP_URL } from '../playwright.config';
import { hydrated, signInAtProvider, watchConsole } from './helpers';

// Runs against the second Quire (http://127.0.0.1:3101): providers "Dev ID" and "Corp ID", and
// email-and-password accounts.

const FIRST = 'paper lanterns at dusk';
const SECOND = 'a quieter second secret';

async function passwordLogIn(page: Page, email: string, password: string) {
  await page.goto('/login');
  const form = page.getByRole('form', { name: 'Log in with email and password' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Log in with password' }).click();
}

test('the login page offers each provider and email and password', async ({ page }) => {
  const problems = watchConsole(page, SIGNIN_APP_URL);
  await page.goto('/login');
  await hydrated(page);
  const main = page.getByRole('main');
  await expect(main.getByRole('button', { name: 'Log in with Dev ID' })).toBeVisible();
  await expect(main.getByRole('button', { name: 'Log in with Corp ID' })).toBeVisible();
  await expect(main.getByRole('form', { name: 'Log in with email and password' })).toBeVisible();
  await expect(main.getByRole('link', { name: 'Create an account' })).toBeVisible();
  expect(problems).toEqual([]);
});

test('register, log in, change the password: the old one is refused and the other browser is signed out', async ({ page, browser }) => {
  const problems = watchConsole(page, SIGNIN_APP_URL);
  const email = `writer-${Date.now()}@example.com`;

  // Register.
  await page.goto('/login');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await expect(page.getByRole('heading', { name: 'Create your Quire account' })).toBeVisible();
  const form = page.getByRole('form', { name: 'Create an account' });
  await form.getByLabel('Your name').fill('Wren Writer');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password', { exact: true }).fill('short');
  await form.getByLabel('Repeat password').fill('short');
  // The browser's own check (minlength) would stop this; the server's message is what matters
  // without it, so submit past it.
  await form.evaluate((f: HTMLFormElement) => f.setAttribute('novalidate', ''));
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText('Use at least 12 characters for your password.')).toBeVisible();
  await expect(page.getByLabel('Your name')).toHaveValue('Wren Writer');
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await page.getByLabel('Password', { exact: true }).fill(FIRST);
  await page.getByLabel('Repeat password').fill(FIRST);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/journal$/);
  await expect(page.getByRole('status')).toContainText('Welcome to Quire, Wren Writer.');
  await expect(page.getByRole('banner')).toContainText('Wren Writer');

  // Log out and back in with the password.
  await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(`${SIGNIN_APP_URL}/`);
  await passwordLogIn(page, email, FIRST);
  await expect(page).toHaveURL(/\/journal$/);

  // A second browser logs in too.
  const other = await browser.newContext();
  const phone = await other.newPage();
  await passwordLogIn(phone, email, FIRST);
  await expect(phone).toHaveURL(/\/journal$/);

  // Change the password in the first.
  await page.getByRole('banner').getByRole('link', { name: 'Settings', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Account settings' })).toBeVisible();
  await expect(page.getByText('Email and password', { exact: true })).toBeVisible();
  await page.getByLabel('Current password').fill(FIRST);
  await page.getByLabel('New password', { exact: true }).fill(SECOND);
  await page.getByLabel('Repeat new password').fill(SECOND);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status')).toContainText('your 1 other session is signed out');
  await expect(page.getByRole('banner')).toContainText('Wren Writer');

  // The other browser is signed out at its next click.
  await phone.goto('/journal');
  await expect(phone).toHaveURL(/\/login\?next=%2Fjournal$/);

  // The old password is refused; the new one works.
  await passwordLogIn(phone, email, FIRST);
  await expect(phone.getByRole('alert')).toContainText('That email and password don’t match an account.');
  await expect(phone.getByRole('textbox', { name: 'Email' })).toHaveValue(email);
  await phone.getByRole('form', { name: 'Log in with email and password' }).getByLabel('Password').fill(SECOND);
  await phone.getByRole('button', { name: 'Log in with password' }).click();
  await expect(phone).toHaveURL(/\/journal$/);
  await other.close();
  expect(problems).toEqual([]);
});

test('a second provider is linked explicitly from the settings page and then logs in to the same account', async ({ page }) => {
  const problems = watchConsole(page, SIGNIN_APP_URL);
  await page.goto('/login');
  await page.getByRole('button', { name: 'Log in with Dev ID' }).click();
  await signInAtProvider(page, 'alice');
  await expect(page).toHaveURL(/\/journal$/);
  await expect(page.getByRole('banner')).toContainText('Alice Liddell');

  await page.goto('/settings');
  await hydrated(page);
  const ways = page.getByRole('region', { name: 'Ways to log in' });
  await expect(ways.getByRole('listitem')).toHaveCount(1);
  await ways.getByRole('button', { name: 'Link Corp ID' }).click();

  // At the second provider (it calls itself Corp ID): sign in as a different username there.
  await expect(page.getByTestId('provider-name')).toHaveText('Corp ID (development)');
  await signInAtProvider(page, 'bob');
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole('status')).toContainText('Corp ID is linked');
  await expect(ways.getByRole('listitem')).toHaveCount(2);
  await expect(ways.getByRole('button', { name: 'Unlink Corp ID' })).toBeVisible();

  // Log out (which ends the Dev ID session), then in through Corp ID — still signed in there from
  // the linking, so it comes straight back: the same account (Alice), not a new one for Bob.
  await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(`${SIGNIN_APP_URL}/`);
  await page.goto('/login');
  await page.getByRole('button', { name: 'Log in with Corp ID' }).click();
  await expect(page).toHaveURL(/\/journal$/);
  await expect(page.getByRole('banner')).toContainText('Alice Liddell');

  // Unlink it again; the account keeps Dev ID.
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Unlink Corp ID' }).click();
  await expect(page.getByRole('status')).toContainText('Corp ID is unlinked');
  await expect(ways.getByRole('listitem')).toHaveCount(1);
  await expect(ways.getByRole('button', { name: 'Link Corp ID' })).toBeVisible();
  expect(problems).toEqual([]);
});

test('an admin creates an account and the one-time link lets its owner choose a password', async ({ page, browser }) => {
  const problems = watchConsole(page, SIGNIN_APP_URL);
  const email = `grace-${Date.now()}@example.com`;
  await page.goto('/login');
  await page.getByRole('button', { name: 'Log in with Dev ID' }).click();
  await signInAtProvider(page, 'admin');
  await expect(page).toHaveURL(/\/journal$/);

  await page.goto('/admin/users');
  const create = page.getByRole('form', { name: 'Create an account' });
  await create.getByLabel('Name').fill('Grace Hopper');
  await create.getByLabel('Email').fill(email);
  await create.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'Grace Hopper' })).toBeVisible();
  const link = await page.getByLabel('One-time set-password link').inputValue();
  expect(link).toMatch(new RegExp(`^${SIGNIN_APP_URL}/set-password\\?token=`));

  // Grace opens the link in her own browser and chooses a password.
  const hers = await browser.newContext();
  const grace = await hers.newPage();
  await grace.goto(link);
  await expect(grace.getByRole('heading', { name: 'Choose your password' })).toBeVisible();
  await expect(grace.getByRole('main')).toContainText(email);
  await grace.getByLabel('New password', { exact: true }).fill('grace chooses this one');
  await grace.getByLabel('Repeat new password').fill('grace chooses this one');
  await grace.getByRole('button', { name: 'Set password' }).click();
  await expect(grace).toHaveURL(/\/journal$/);
  await expect(grace.getByRole('banner')).toContainText('Grace Hopper');

  // The link worked once.
  await grace.goto(link);
  await expect(grace.getByRole('heading', { name: 'This link does not work' })).toBeVisible();
  await hers.close();
  expect(problems).toEqual([]);
});
