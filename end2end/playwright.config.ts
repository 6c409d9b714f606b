import { defineConfig } from '@playwright/test';

// The browser suite runs against the release build (`cargo leptos build --release --split --precompress`) and the
// development OpenID provider, on ports of their own so a running `.ci/start` does not clash.
export const APP_URL = 'http://127.0.0.1:3100';
export const PROVIDER_URL = 'http://localhost:5557';
// A second Quire for the sign-in options: two providers (the one above as "Dev ID", and a second
// development provider as "Corp ID", on another host name so the two keep separate cookies) and
// email-and-password accounts.
export const SIGNIN_APP_URL = 'http://127.0.0.1:3101';
export const CORP_PROVIDER_URL = 'http://127.0.0.1:5558';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  projects: [
    { name: 'journeys', testIgnore: /(admin|sign-in)\.spec\.ts/ },
    { name: 'sign-in', testMatch: /sign-in\.spec\.ts/, use: { baseURL: SIGNIN_APP_URL } },
    // The admin journeys disable and sign out demo accounts: they run alone, after the rest.
    { name: 'admin', testMatch: /admin\.spec\.ts/, dependencies: ['journeys'] },
  ],
  use: {
    baseURL: APP_URL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  webServer: [
    {
      command: 'node dev-oidc/server.mjs',
      url: `${PROVIDER_URL}/.well-known/openid-configuration`,
      env: { DEV_OIDC_PORT: '5557', DEV_OIDC_APP_ORIGINS: `${APP_URL},${SIGNIN_APP_URL}` },
      reuseExistingServer: false,
      stdout: 'pipe',
    },
    {
      command: 'node dev-oidc/server.mjs',
      url: `${CORP_PROVIDER_URL}/.well-known/openid-configuration`,
      env: {
        DEV_OIDC_PORT: '5558',
        DEV_OIDC_ISSUER: CORP_PROVIDER_URL,
        DEV_OIDC_CLIENT_ID: 'quire-corp',
        DEV_OIDC_CLIENT_SECRET: 'quire-corp-secret',
        DEV_OIDC_NAME: 'Corp ID (development)',
        DEV_OIDC_APP_ORIGINS: SIGNIN_APP_URL,
      },
      reuseExistingServer: false,
      stdout: 'pipe',
    },
    {
      command: 'rm -rf end2end/.e2e-sign-in && exec target/release/server',
      cwd: '..',
      url: `${SIGNIN_APP_URL}/healthz`,
      env: {
        QUIRE_PUBLIC_URL: SIGNIN_APP_URL,
        QUIRE_LISTEN: '127.0.0.1:3101',
        DATABASE_URL: 'sqlite://end2end/.e2e-sign-in/quire.db',
        QUIRE_OIDC_PROVIDERS: 'dev,corp',
        QUIRE_OIDC_DEV_ISSUER: PROVIDER_URL,
        QUIRE_OIDC_DEV_CLIENT_ID: 'quire-dev',
        QUIRE_OIDC_DEV_CLIENT_SECRET: 'quire-dev-secret',
        QUIRE_OIDC_DEV_DISPLAY_NAME: 'Dev ID',
        QUIRE_ADMIN_EMAILS: 'admin@example.com',
        QUIRE_OIDC_CORP_ISSUER: CORP_PROVIDER_URL,
        QUIRE_OIDC_CORP_CLIENT_ID: 'quire-corp',
        QUIRE_OIDC_CORP_CLIENT_SECRET: 'quire-corp-secret',
        QUIRE_OIDC_CORP_DISPLAY_NAME: 'Corp ID',
        QUIRE_PASSWORD_LOGIN: 'on',
        RUST_LOG: 'warn',
      },
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      // A fresh database for every run.
      command: 'rm -rf end2end/.e2e && exec target/release/server',
      cwd: '..',
      url: `${APP_URL}/healthz`,
      env: {
        QUIRE_PUBLIC_URL: APP_URL,
        QUIRE_LISTEN: '127.0.0.1:3100',
        DATABASE_URL: 'sqlite://end2end/.e2e/quire.db',
        QUIRE_OIDC_ISSUER: PROVIDER_URL,
        QUIRE_OIDC_CLIENT_ID: 'quire-dev',
        QUIRE_OIDC_CLIENT_SECRET: 'quire-dev-secret',
        // Admin through the provider's groups claim (the Rust tests cover QUIRE_ADMIN_EMAILS).
        QUIRE_OIDC_SCOPES: 'openid email profile groups',
        QUIRE_OIDC_ADMIN_GROUPS: 'quire-admins',
        RUST_LOG: 'warn',
      },
      reuseExistingServer: false,
      timeout: 60_000,
    },
  ],
});
