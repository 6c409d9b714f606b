import { test, expect, type Page } from '@playwright/test';
import { hydrated, logIn, watchChunks, watchConsole } from './helpers';

/** A word no other test uses, so parallel tests sharing a demo account don't see each other. */
const unique = (base: string) => `${base}${Math.random().toString(36).slice(2, 8)}`;

async function writeEntry(page: Page, title: string, tags: string, body: string) {
  await page.getByRole('link', { name: 'New entry' }).click();
  await expect(page.getByRole('heading', { name: 'New entry' })).toBeVisible();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Tags').fill(tags);
  await page.getByLabel('Text').fill(body);
}

test('write, find, edit, filter, delete, restore', async ({ page }) => {
  const problems = watchConsole(page);
  const word = unique('lighthouse');
  await logIn(page, 'alice');
  await hydrated(page);

  await writeEntry(page, `Walk to the ${word}`, 'travel, sea', `We walked to the **${word}** and back.`);
  // Live preview, rendered by the server like the entry page.
  await expect(page.getByRole('region', { name: 'Preview' }).locator('strong')).toHaveText(word);
  await page.keyboard.press('Control+s');

  await expect(page.getByRole('heading', { level: 1, name: `Walk to the ${word}` })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('Entry saved');
  await expect(page.locator('.prose strong')).toHaveText(word);

  // It is in the journal list.
  await page.getByRole('link', { name: '← Journal' }).click();
  await expect(page.getByRole('list', { name: 'Entries' }).getByRole('link', { name: `Walk to the ${word}` })).toBeVisible();

  // Edit it.
  await page.getByRole('link', { name: `Walk to the ${word}` }).click();
  await page.getByRole('link', { name: 'Edit' }).click();
  await expect(page.getByLabel('Title')).toHaveValue(`Walk to the ${word}`);
  await page.getByLabel('Title').fill(`Evening walk to the ${word}`);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Evening walk to the ${word}` })).toBeVisible();

  // Search finds it, with the match highlighted.
  await page.getByRole('link', { name: '← Journal' }).click();
  await page.getByRole('searchbox', { name: 'Search' }).fill(word);
  await page.getByRole('button', { name: 'Search' }).click();
  const results = page.getByRole('list', { name: 'Search results' });
  await expect(results.getByRole('link', { name: `Evening walk to the ${word}` })).toBeVisible();
  await expect(results.locator('mark').first()).toHaveText(word);

  // Tag filter.
  await page.goto('/journal?tag=sea');
  await expect(page.getByRole('list', { name: 'Entries' }).getByRole('link', { name: `Evening walk to the ${word}` })).toBeVisible();

  // Delete moves it to the trash, with an Undo.
  await page.getByRole('link', { name: `Evening walk to the ${word}` }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('status')).toContainText('Moved to trash');
  await expect(page.getByRole('link', { name: `Evening walk to the ${word}` })).toHaveCount(0);
  await page.getByRole('link', { name: 'Trash' }).click();
  const trashed = page.getByRole('article', { name: `Evening walk to the ${word}` });
  await expect(trashed).toBeVisible();
  await trashed.getByRole('button', { name: 'Restore' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Evening walk to the ${word}` })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('Entry restored');

  // Undo straight from the flash.
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('status').getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Evening walk to the ${word}` })).toBeVisible();

  // The calendar links today's square to today's entries.
  await page.goto('/journal/calendar');
  await page.getByRole('img', { name: /Days with entries/ }).getByRole('link').first().click();
  await expect(page).toHaveURL(/\/journal\?from=\d{4}-\d{2}-\d{2}&to=/);

  // Export downloads a file that contains the entry.
  await page.goto('/journal/transfer');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download JSON', exact: true }).click(),
  ]);
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  const exported = JSON.parse(readFileSync(path!, 'utf8'));
  expect(exported.format).toBe('quire-export');
  expect(exported.entries.map((e: { title: string }) => e.title)).toContain(`Evening walk to the ${word}`);
  expect(problems).toEqual([]);
});

test('leaving the editor with unsaved changes asks first', async ({ page }) => {
  await logIn(page, 'bob');
  await hydrated(page);
  await page.getByRole('link', { name: 'New entry' }).click();
  await page.getByLabel('Text').fill('half a thought');
  let asked = '';
  page.once('dialog', async (dialog) => {
    asked = dialog.message();
    await dialog.dismiss();
  });
  await page.getByRole('link', { name: 'Cancel' }).click();
  expect(asked).toContain('unsaved changes');
  await expect(page).toHaveURL(/\/journal\/new$/);
  await expect(page.getByLabel('Text')).toHaveValue('half a thought');
});

test('importing a jrnl export adds its entries', async ({ page }) => {
  const word = unique('jrnl');
  await logIn(page, 'bob');
  await page.goto('/journal/transfer');
  const jrnl = JSON.stringify({
    tags: { '@import': 1 },
    entries: [{ title: `From jrnl ${word}`, body: 'Imported. @import', date: '2021-06-01', time: '08:00', tags: ['@import'], starred: false }],
  });
  await page.getByLabel('File to import').setInputFiles({ name: 'jrnl.json', mimeType: 'application/json', buffer: Buffer.from(jrnl) });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByRole('region', { name: 'Last import' })).toContainText('Imported 1 entry');
  await page.goto(`/journal?q=${word}`);
  await expect(page.getByRole('link', { name: `From jrnl ${word}` })).toBeVisible();
});

test('validation errors appear next to the field and the text is kept', async ({ page }) => {
  await logIn(page, 'alice');
  await hydrated(page);
  const body = 'Words I do not want to lose.';
  await writeEntry(page, 'x'.repeat(201), '', body);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#title-error')).toContainText('the limit is 200');
  await expect(page.getByLabel('Text')).toHaveValue(body);
  await expect(page).toHaveURL(/\/journal\/new$/);
});

test('saving over a change made in another tab is refused and keeps the text', async ({ browser }) => {
  const context = await browser.newContext();
  const first = await context.newPage();
  const word = unique('conflict');
  await logIn(first, 'bob');
  await hydrated(first);
  await writeEntry(first, word, '', 'original');
  await first.getByRole('button', { name: 'Save' }).click();
  await first.getByRole('link', { name: 'Edit' }).click();
  // The editor is a lazily loaded route: the address changes once its code has arrived.
  await expect(first).toHaveURL(/\/edit$/);
  const editUrl = first.url();

  const second = await context.newPage();
  await second.goto(editUrl);
  await hydrated(second);
  await expect(first.getByLabel('Text')).toHaveValue('original');

  await first.getByLabel('Text').fill('saved first, in tab one');
  await first.getByRole('button', { name: 'Save' }).click();
  await expect(first.getByRole('heading', { level: 1, name: word })).toBeVisible();

  await second.getByLabel('Text').fill('typed in tab two');
  await second.getByRole('button', { name: 'Save' }).click();
  await expect(second.getByRole('alert').filter({ hasText: 'changed somewhere else' })).toBeVisible();
  await expect(second.getByLabel('Text')).toHaveValue('typed in tab two');

  await second.getByRole('button', { name: 'Save anyway' }).click();
  await expect(second.getByRole('heading', { level: 1, name: word })).toBeVisible();
  await expect(second.locator('.prose')).toContainText('typed in tab two');
  await context.close();
});

test('the core flow works with JavaScript disabled', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const word = unique('nojs');
  await page.goto('/journal');
  await page.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('quire-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/journal$/);

  // A validation error keeps the text.
  await writeEntry(page, word, 'plain', 'No scripts here.');
  await page.getByLabel('Date').fill('');
  await page.getByLabel('Date').evaluate((el) => el.removeAttribute('required')).catch(() => {});
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/journal\/new$/);
  await expect(page.locator('#date-error')).toContainText('YYYY-MM-DD');
  await expect(page.getByLabel('Text')).toHaveValue('No scripts here.');

  await page.getByLabel('Date').fill('2026-11-01');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { level: 1, name: word })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('Entry saved');

  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel('Text').fill('Edited without scripts.');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.prose')).toContainText('Edited without scripts.');

  await page.goto('/journal');
  await page.getByRole('searchbox', { name: 'Search' }).fill(word);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('list', { name: 'Search results' }).getByRole('link', { name: word })).toBeVisible();

  await page.getByRole('link', { name: word }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/journal$/);
  await expect(page.getByRole('status')).toContainText('Moved to trash');
  await page.getByRole('status').getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByRole('heading', { level: 1, name: word })).toBeVisible();
  await context.close();
});

test('bob cannot open alice’s entry', async ({ browser }) => {
  const alice = await (await browser.newContext()).newPage();
  const word = unique('private');
  await logIn(alice, 'alice');
  await hydrated(alice);
  await writeEntry(alice, word, '', 'for my eyes only');
  await alice.getByRole('button', { name: 'Save' }).click();
  await expect(alice.getByRole('heading', { level: 1, name: word })).toBeVisible();
  const url = alice.url();

  const bob = await (await browser.newContext()).newPage();
  await logIn(bob, 'bob');
  const response = await bob.goto(url);
  expect(response?.status()).toBe(404);
  await expect(bob.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(bob.getByText('for my eyes only')).toHaveCount(0);
  const edit = await bob.goto(`${url}/edit`);
  expect(edit?.status()).toBe(404);
});

test('a first visit to the home page downloads no page chunk', async ({ page }) => {
  const problems = watchConsole(page);
  const chunks = watchChunks(page);
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'A journal that stays yours.' })).toBeVisible();
  expect(chunks).toEqual([]);
  expect(problems).toEqual([]);
});

test('a page paints before it downloads the app, then hydrates', async ({ page }) => {
  const problems = watchConsole(page);
  for (const path of ['/', '/login']) {
    await page.goto(path);
    await hydrated(page);
    const { paint, started, app } = await page.evaluate(() => ({
      paint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
      // Which of the script's triggers started the download: the paint itself, not its fallbacks.
      started: (performance.getEntriesByName('quire-hydrate')[0] as PerformanceMark | undefined)?.detail,
      app: performance
        .getEntriesByType('resource')
        .filter((r) => /^\/pkg\/quire\.(js|wasm)$/.test(new URL(r.name).pathname))
        .map((r) => r.startTime),
    }));
    expect(paint).toBeGreaterThan(0);
    expect(started).toBe('paint');
    expect(app).toHaveLength(2);
    for (const start of app) expect(start).toBeGreaterThanOrEqual(paint!);
  }
  expect(problems).toEqual([]);
});

test('a lazily loaded page opened directly preloads its own chunks, in every render', async ({ request }) => {
  // Its HTML names the chunks the page needs (from the splitter's manifest, which Leptos's
  // hydration component provides), so the browser fetches them beside the app's code, not after
  // it. Eight renders at a time share the server's worker threads, and each gets its own preloads
  // (leptos_axum looks them up through the worker thread's current owner: server's render_owner).
  for (let round = 0; round < 3; round++) {
    const pages = await Promise.all(
      Array.from({ length: 8 }, async () => (await request.get('/login')).text()),
    );
    for (const html of pages) {
      const links = (html.match(/<link [^>]*>/g) ?? []).filter((link) =>
        /href="\/pkg\/(split_[^"]+\.wasm|__wasm_split[^"]*\.js)"/.test(link),
      );
      expect(links.filter((link) => link.includes('rel="preload"')).length).toBeGreaterThan(0);
      // Once: another render's preloads would come twice.
      expect(links.filter((link) => link.includes('rel="modulepreload"'))).toHaveLength(1);
    }
  }
});

test('a page hydrates where paints are not reported, and in a background tab', async ({ context }) => {
  const cases: [string, () => void][] = [
    ['frame', () => Object.defineProperty(PerformanceObserver, 'supportedEntryTypes', { get: () => [] })],
    ['hidden', () => Object.defineProperty(Document.prototype, 'visibilityState', { get: () => 'hidden' })],
  ];
  for (const [trigger, pretend] of cases) {
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.addInitScript(pretend);
    await page.goto('/');
    await hydrated(page);
    const started = await page.evaluate(
      () => (performance.getEntriesByName('quire-hydrate')[0] as PerformanceMark | undefined)?.detail,
    );
    expect(started).toBe(trigger);
    expect(problems).toEqual([]);
    await page.close();
  }
});

test('what a person types before the page hydrates stays, and the fields still follow the page', async ({ page }) => {
  const problems = watchConsole(page);
  await logIn(page, 'alice');
  // Hold the app's code back until the person has typed.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/pkg/quire.wasm', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto('/journal?q=lighthouse');
  const search = page.getByRole('searchbox', { name: 'Search' });
  // The server's HTML carries the search (a page without JavaScript shows it too).
  await expect(search).toHaveValue('lighthouse');
  await search.fill('typed before the app arrived');
  release();
  await hydrated(page);
  await expect(search).toHaveValue('typed before the app arrived');
  // After hydration the field follows the page: clearing the search empties it.
  await page.getByRole('link', { name: 'Clear' }).click();
  await expect(page).toHaveURL(/\/journal$/);
  await expect(search).toHaveValue('');
  expect(problems).toEqual([]);
});

test('the journal loads without the editor or the dashboard; the editor arrives when opened', async ({ page }) => {
  const problems = watchConsole(page);
  const chunks = watchChunks(page);
  await logIn(page, 'bob');
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Your journal' })).toBeVisible();
  expect(chunks).toEqual([]);

  // In-app navigation to the editor fetches its chunk, and the editor works.
  await page.getByRole('link', { name: 'New entry' }).click();
  await expect(page.getByRole('heading', { name: 'New entry' })).toBeVisible();
  await expect.poll(() => chunks.some((c) => c.includes('new_entry_route'))).toBe(true);
  expect(chunks.some((c) => c.includes('admin'))).toBe(false);
  await page.getByLabel('Text').fill('Typed into a lazily loaded editor.');
  await expect(page.getByRole('region', { name: 'Preview' })).toContainText('Typed into a lazily loaded editor.');
  expect(problems).toEqual([]);
});
