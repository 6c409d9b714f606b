// Demo accounts of the development identity provider. Not for production.

export const DEMO_PASSWORD = 'quire-demo';

export const ACCOUNTS = {
  alice: {
    note: 'regular user',
    claims: { email: 'alice@example.com', email_verified: true, name: 'Alice Liddell', preferred_username: 'alice', groups: ['writers'] },
  },
  bob: {
    note: 'second regular user',
    claims: { email: 'bob@example.com', email_verified: true, name: 'Bob Stone', preferred_username: 'bob', groups: ['writers'] },
  },
  admin: {
    note: 'administrator (group quire-admins, verified email in QUIRE_ADMIN_EMAILS)',
    claims: { email: 'admin@example.com', email_verified: true, name: 'Ada Admin', preferred_username: 'admin', groups: ['writers', 'quire-admins'] },
  },
  mallory: {
    note: 'claims the admin email, unverified: must NOT become admin',
    claims: { email: 'admin@example.com', email_verified: false, name: 'Mallory Unverified', preferred_username: 'mallory', groups: [] },
  },
};
