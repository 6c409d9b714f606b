import { test, expect, type Page } from '@playwright/test';
import { hydrated, logIn, signInAtProvider, watchConsole } from './helpers';

/** A word no other test uses, so parallel tests sharing a demo account don't see each other. */
const unique = (base: string) => `${base}${Math.random().toString(36).slice(2, 8)}`;

async function newEntry(page: Page, title: string, body: string) {
  await page.getByRole('link', { name: 'New entry' }).click();
  await expect(page.getByRole('heading', { name: 'New entry' })).toBeVisible();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Text').fill(body);
}

/** Whether an image has loaded real pixels (not a broken-image icon). */
async function loaded(page: Page, selector: string) {
  await expect
    .poll(() => page.locator(selector).first().evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0))
    .toBe(true);
}

test('a pasted photo shows in the preview, on the entry page and as the list thumbnail', async ({ page }) => {
  const problems = watchConsole(page);
  const word = unique('harbour');
  await logIn(page, 'alice');
  await hydrated(page);
  await newEntry(page, `Boats in the ${word}`, 'The boats came in at noon.\n\n');

  // Paste an image into the text, as a person does with a screenshot or a copied photo.
  const text = page.getByLabel('Text');
  await text.focus();
  await text.press('Control+End');
  await text.evaluate(async (area) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 400;
    const g = canvas.getContext('2d')!;
    const sky = g.createLinearGradient(0, 0, 0, 400);
    sky.addColorStop(0, '#7fb2e5');
    sky.addColorStop(1, '#1d4f7a');
    g.fillStyle = sky;
    g.fillRect(0, 0, 640, 400);
    g.fillStyle = '#f4d35e';
    g.beginPath();
    g.arc(480, 110, 50, 0, Math.PI * 2);
    g.fill();
    const blob = await new Promise<Blob>((done) => canvas.toBlob((b) => done(b!), 'image/png'));
    const data = new DataTransfer();
    data.items.add(new File([blob], 'harbour at noon.png', { type: 'image/png' }));
    area.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  });
  // Its Markdown lands at the cursor once the upload is done.
  await expect(text).toHaveValue(/The boats came in at noon\.\n\n!\[harbour at noon\]\(\/media\/[A-Za-z0-9_-]{22}\)/);
  const preview = page.getByRole('region', { name: 'Preview' });
  await expect(preview.getByRole('img', { name: 'harbour at noon' })).toBeVisible();
  await loaded(page, '.preview img');

  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Boats in the ${word}` })).toBeVisible();
  // On the entry page the photo is a link that opens it full size.
  const photo = page.locator('.prose').getByRole('link', { name: 'harbour at noon' });
  await expect(photo).toBeVisible();
  await expect(photo).toHaveAttribute('href', /^\/media\/[A-Za-z0-9_-]{22}$/);
  await loaded(page, '.prose a.photo img');

  // The journal shows its thumbnail.
  await page.getByRole('link', { name: '← Journal' }).click();
  const card = page.locator('.entry-card', { hasText: `Boats in the ${word}` });
  await expect(card.locator('img.entry-thumb')).toBeVisible();
  await loaded(page, `.entry-card:has-text("Boats in the ${word}") img.entry-thumb`);
  expect(problems).toEqual([]);
});

test('without JavaScript, photos go up with the entry through the upload field', async ({ browser }) => {
  // A real PNG, drawn by a scripted page.
  const painter = await browser.newPage();
  const png = await painter.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 500;
    canvas.height = 300;
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#2a6f4e';
    g.fillRect(0, 0, 500, 300);
    g.fillStyle = '#ffffff';
    g.fillRect(230, 60, 40, 200);
    return canvas.toDataURL('image/png').split(',')[1];
  });
  await painter.close();

  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const word = unique('nojsphoto');
  await page.goto('/journal');
  await page.getByRole('main').getByRole('button', { name: 'Log in' }).click();
  await signInAtProvider(page, 'alice');
  await expect(page).toHaveURL(/\/journal$/);

  await newEntry(page, word, 'The lighthouse from the beach.');
  await page.getByLabel('Add photos').setInputFiles({
    name: 'lighthouse.png',
    mimeType: 'image/png',
    buffer: Buffer.from(png, 'base64'),
  });
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { level: 1, name: word })).toBeVisible();
  await expect(page.locator('.prose')).toContainText('The lighthouse from the beach.');
  const photo = page.locator('.prose').getByRole('link', { name: 'lighthouse' });
  await expect(photo.getByRole('img', { name: 'lighthouse' })).toBeVisible();
  const href = await photo.getAttribute('href');
  const full = await page.request.get(href!);
  expect(full.status()).toBe(200);
  expect(full.headers()['content-type']).toBe('image/png');

  await page.goto('/journal');
  const thumb = page.locator('.entry-card', { hasText: word }).locator('img.entry-thumb');
  await expect(thumb).toBeVisible();
  const small = await page.request.get((await thumb.getAttribute('src'))!);
  expect(small.status()).toBe(200);
  await context.close();
});
