// A real OpenID provider for Roster's tests: the certified `oidc-provider` package,
// on loopback, with its development login and consent pages (any login and password
// sign in; the login is the account's email address). Started by the tests with one
// JSON argument:
//   {"clients": [{"client_id", "client_secret", "redirect_uris": [...]}],
//    "unverified": ["address whose email_verified is false", ...]}
// It prints "listening <issuer>" once it accepts connections.
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] ?? '{}');
const unverified = new Set((config.unverified ?? []).map((a) => a.toLowerCase()));

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: (config.clients ?? []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // ID tokens carry the claims asked for, as most providers send them.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['roster-test-provider'] },
    async findAccount(ctx, id) {
      const email = id.toLowerCase();
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email,
            email_verified: !unverified.has(email),
            name: email.split('@')[0].replace(/[._]/g, ' '),
          };
        },
      };
    },
  });
  // Loopback over plain HTTP: the development pages' cookies may not be "secure".
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});
