import { test, expect, type Page } from '@playwright/test';
import { hydrated, signInAtProvider } from '../tests/helpers';

// Every response names the instance that answered (QUIRE_INSTANCE_NAME); nginx alternates.
function countInstances(page: Page, seen: Map<string, number>) {
  page.on('response', (response) => {
    const instance = response.headers()['x-quire-instance'];
    if (instance) seen.set(instance, (seen.get(instance) ?? 0) + 1);
  });
}

async function logIn(page: Page, username: string) {
  await page.goto('/');
  await page.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await signInAtProvider(page, username);
  await expect(page).toHaveURL(/\/journal$/);
  await hydrated(page);
}

test('a day in the journal and an admin action, with requests landing on both instances', async ({ browser }) => {
  const seen = new Map<string, number>();
  const word = `harbour${Math.random().toString(36).slice(2, 8)}`;

  const alice = await (await browser.newContext()).newPage();
  countInstances(alice, seen);
  await logIn(alice, 'alice');

  // Write.
  await alice.getByRole('link', { name: 'New entry' }).click();
  await alice.getByLabel('Title').fill(`Morning at the ${word}`);
  await alice.getByLabel('Tags').fill('sea');
  await alice.getByLabel('Text').fill(`Boats in the **${word}**.`);
  await alice.getByRole('button', { name: 'Save' }).click();
  await expect(alice.getByRole('heading', { level: 1, name: `Morning at the ${word}` })).toBeVisible();

  // Edit.
  await alice.getByRole('link', { name: 'Edit' }).click();
  await expect(alice.getByLabel('Title')).toHaveValue(`Morning at the ${word}`);
  await alice.getByLabel('Title').fill(`Evening at the ${word}`);
  await alice.getByRole('button', { name: 'Save' }).click();
  await expect(alice.getByRole('heading', { level: 1, name: `Evening at the ${word}` })).toBeVisible();

  // Search (PostgreSQL full-text search), with the match highlighted.
  await alice.getByRole('link', { name: '← Journal' }).click();
  await alice.getByRole('searchbox', { name: 'Search' }).fill(word);
  await alice.getByRole('button', { name: 'Search' }).click();
  const results = alice.getByRole('list', { name: 'Search results' });
  await expect(results.getByRole('link', { name: `Evening at the ${word}` })).toBeVisible();
  await expect(results.locator('mark').first()).toHaveText(word);

  // Log out, and in again: the journal is still there.
  await alice.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
  await expect(alice).toHaveURL('/');
  await alice.goto('/journal');
  await expect(alice).toHaveURL(/\/login\?next=%2Fjournal$/);
  await alice.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await signInAtProvider(alice, 'alice');
  await expect(alice).toHaveURL(/\/journal$/);
  await expect(alice.getByRole('list', { name: 'Entries' }).getByRole('link', { name: `Evening at the ${word}` })).toBeVisible();

  // An admin disables bob while his browser is open: his next click, on whichever instance,
  // finds him logged out.
  const bob = await (await browser.newContext()).newPage();
  countInstances(bob, seen);
  await logIn(bob, 'bob');
  await expect(bob.getByRole('banner')).toContainText('Bob Stone');

  const admin = await (await browser.newContext()).newPage();
  countInstances(admin, seen);
  await logIn(admin, 'admin');
  await admin.goto('/admin/users?q=bob');
  await admin.getByRole('link', { name: 'Manage Bob Stone' }).click();
  await admin.getByRole('link', { name: 'Disable account' }).click();
  await admin.getByRole('button', { name: 'Yes, disable Bob Stone' }).click();
  await expect(admin.getByTestId('account-status')).toHaveText('Disabled');

  for (let click = 0; click < 2; click++) {
    // Two clicks: consecutive requests go to different instances; each must refuse him.
    await bob.goto('/journal/calendar');
    await expect(bob).toHaveURL(/\/login\?next=/);
  }

  expect([...seen.keys()].sort(), `responses per instance: ${JSON.stringify([...seen])}`).toEqual(['a', 'b']);
  expect(Math.min(...seen.values())).toBeGreaterThan(5);
});
