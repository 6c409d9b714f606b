// Quire's DEVELOPMENT OpenID provider. Not for production.
//
// A real, certified OpenID Connect implementation (the `oidc-provider` package) with a handful of
// demo accounts, so that `quire run` and the browser tests exercise the same authorization code
// flow with PKCE that a real provider (Google, Keycloak, Entra ID…) would. It listens on loopback
// only, generates a fresh signing key and cookie keys at every start, and keeps nothing on disk.
//
// Environment (all optional):
//   DEV_OIDC_PORT            port to listen on (default 5556)
//   DEV_OIDC_ISSUER          issuer URL (default http://localhost:$DEV_OIDC_PORT)
//   DEV_OIDC_CLIENT_ID       client id (default quire-dev)
//   DEV_OIDC_CLIENT_SECRET   client secret (default quire-dev-secret)
//   DEV_OIDC_APP_ORIGINS     comma-separated Quire origins allowed to use the client
//                            (default http://127.0.0.1:3000,http://127.0.0.1:3100)
//   DEV_OIDC_NAME            what the sign-in page calls this provider (default "Quire development
//                            identity provider"); a second instance plays a second provider
//   DEV_OIDC_QUIRE_IDS       comma-separated provider ids Quire may know this provider by
//                            (default default,dev,corp): besides {origin}/auth/callback (the
//                            first provider's redirect URI), {origin}/auth/callback/{id} is
//                            registered for each, as Quire gives every further provider its own

import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import { ACCOUNTS, DEMO_PASSWORD } from './accounts.mjs';

const PORT = Number(process.env.DEV_OIDC_PORT || 5556);
const ISSUER = process.env.DEV_OIDC_ISSUER || `http://localhost:${PORT}`;
const CLIENT_ID = process.env.DEV_OIDC_CLIENT_ID || 'quire-dev';
const CLIENT_SECRET = process.env.DEV_OIDC_CLIENT_SECRET || 'quire-dev-secret';
const NAME = process.env.DEV_OIDC_NAME || 'Quire development identity provider';
const APP_ORIGINS = (process.env.DEV_OIDC_APP_ORIGINS || 'http://127.0.0.1:3000,http://127.0.0.1:3100')
  .split(',')
  .map((s) => s.trim().replace(/\/$/, ''))
  .filter(Boolean);
const QUIRE_IDS = (process.env.DEV_OIDC_QUIRE_IDS || 'default,dev,corp')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `dev-${crypto.randomUUID()}`, use: 'sig', alg: 'RS256' };

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1f2328;background:#f6f3ee}
  .warn{background:#fff3cd;border:1px solid #e0c36c;padding:.5rem .75rem;border-radius:6px;font-size:.9rem}
  form{display:grid;gap:.75rem;margin:1.5rem 0} label{display:grid;gap:.25rem;font-weight:600}
  input{font:inherit;padding:.5rem;border:1px solid #888;border-radius:6px}
  button{font:inherit;padding:.6rem 1rem;border-radius:6px;border:0;background:#3b3a8f;color:#fff;cursor:pointer}
  button.secondary{background:#ddd;color:#222} .error{color:#a40000;font-weight:600}
  table{border-collapse:collapse;font-size:.9rem} td,th{padding:.25rem .5rem;border-bottom:1px solid #ccc;text-align:left}
</style></head><body>${body}</body></html>`;

const configuration = {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: APP_ORIGINS.flatMap((o) => [`${o}/auth/callback`, ...QUIRE_IDS.map((id) => `${o}/auth/callback/${id}`)]),
      post_logout_redirect_uris: APP_ORIGINS.map((o) => `${o}/`),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  async findAccount(_ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account.claims }; } };
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: () => true, methods: ['S256'] },
  ttl: { Interaction: 3600, Session: 14 * 24 * 3600, Grant: 14 * 24 * 3600, AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60 },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // Quire already asked the person; end the provider session without a second question.
      async logoutSource(ctx, form) {
        ctx.body = page('Signing out', `${form.replace('</form>', '<input type="hidden" name="logout" value="yes"></form>')}
          <p>Signing you out…</p><noscript><button form="op.logoutForm" type="submit">Continue</button></noscript>
          <script>document.forms[0].submit()</script>`);
      },
    },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Identity provider error</h1><p class="error">${escapeHtml(out.error)}: ${escapeHtml(out.error_description || '')}</p>`);
  },
};

const provider = new Provider(ISSUER, configuration);

function loginPage(uid, clientId, error) {
  const rows = Object.entries(ACCOUNTS)
    .map(([id, a]) => `<tr><td><code>${escapeHtml(id)}</code></td><td>${escapeHtml(a.claims.email)}${a.claims.email_verified ? '' : ' (unverified)'}</td><td>${escapeHtml(a.note)}</td></tr>`)
    .join('');
  return page('Sign in — Quire development identity provider', `
    <p class="warn" role="note">Development identity provider for Quire. Not for production.</p>
    <h1>Sign in</h1>
    <p>Signing in to <strong>${escapeHtml(clientId)}</strong> at <strong data-testid="provider-name">${escapeHtml(NAME)}</strong>.</p>
    ${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
    <form method="post" action="/interaction/${uid}/login" autocomplete="off">
      <label>Username <input name="login" required autofocus></label>
      <label>Password <input name="password" type="password" required></label>
      <button type="submit">Sign in</button>
    </form>
    <form method="post" action="/interaction/${uid}/abort"><button type="submit" class="secondary">Cancel</button></form>
    <h2>Demo accounts</h2><p>Every demo account uses the password <code>${escapeHtml(DEMO_PASSWORD)}</code>.</p>
    <table><thead><tr><th>Username</th><th>Email</th><th></th></tr></thead><tbody>${rows}</tbody></table>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function grantConsent(req, res, details) {
  // First-party client: consent is implied, so grant what was asked.
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function handleInteraction(req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    if (details.prompt.name === 'consent') return grantConsent(req, res, details);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    return res.end(loginPage(uid, details.params.client_id));
  }
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const login = (form.get('login') || '').trim();
    if (!ACCOUNTS[login] || form.get('password') !== DEMO_PASSWORD) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return res.end(loginPage(uid, details.params.client_id, 'Unknown username or wrong password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }
  if (req.method === 'POST' && action === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person cancelled the login.' }, { mergeWithLastSubmission: false });
  }
  res.writeHead(404).end();
}

const callback = provider.callback();
const handler = async (req, res) => {
  const url = new URL(req.url, ISSUER);
  if (url.pathname.startsWith('/interaction/')) {
    try {
      await handleInteraction(req, res, url);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page('Error', `<h1>Sign-in failed</h1><p class="error">${escapeHtml(err.message)}</p><p>Go back to Quire and start the login again.</p>`));
    }
    return;
  }
  callback(req, res);
};

// Loopback only, on both address families, so `localhost` works whichever one it resolves to.
let listening = 0;
for (const host of ['127.0.0.1', '::1']) {
  const server = http.createServer(handler);
  server.on('error', (err) => {
    if (host === '::1') return; // no IPv6 loopback on this machine: fine
    console.error(`dev-oidc: cannot listen on ${host}:${PORT}: ${err.message}`);
    process.exit(1);
  });
  server.listen(PORT, host, () => {
    listening += 1;
    if (host === '127.0.0.1') {
      console.log(`dev-oidc: DEVELOPMENT OpenID provider "${NAME}" (not for production) at ${ISSUER}`);
      console.log(`dev-oidc: client ${CLIENT_ID}; demo accounts ${Object.keys(ACCOUNTS).join(', ')} (password: ${DEMO_PASSWORD})`);
    }
  });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
