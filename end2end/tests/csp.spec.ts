import { test, expect } from '@playwright/test';
import { hydrated, logIn, watchConsole } from './helpers';

// Quire's pages run under a Content-Security-Policy with a nonce per response (docs/SECURITY.md).

test('an injected inline script does not run, while the page itself hydrates', async ({ page }) => {
  const problems = watchConsole(page);
  await logIn(page, 'alice');
  await hydrated(page);

  const response = await page.goto('/journal');
  const policy = response?.headers()['content-security-policy'] ?? '';
  expect(policy).toContain("script-src 'self' 'nonce-");
  await hydrated(page);

  // What an attacker's markup would do if it ever got past the sanitiser: an inline script
  // without the page's nonce. The browser refuses it and reports the violation.
  const outcome = await page.evaluate(
    () =>
      new Promise<{ ran: boolean; violated: string }>((resolve) => {
        let violated = '';
        document.addEventListener('securitypolicyviolation', (e) => {
          violated = e.violatedDirective;
        });
        const script = document.createElement('script');
        script.textContent = 'window.__injected = true;';
        document.body.appendChild(script);
        setTimeout(() => resolve({ ran: (window as any).__injected === true, violated }), 200);
      }),
  );
  expect(outcome.ran).toBe(false);
  expect(outcome.violated).toContain('script-src');

  // The app still works under the policy: a lazily loaded route (the editor) opens.
  await page.getByRole('link', { name: 'New entry' }).click();
  await expect(page.getByRole('heading', { name: 'New entry' })).toBeVisible();
  // The only console error is the refused injection.
  expect(problems.filter((p) => !p.includes('Content Security Policy'))).toEqual([]);
});
