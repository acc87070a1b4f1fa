// A real OpenID Connect provider for the single sign-on tests: the
// certified `oidc-provider` package (tools/node_modules), with one client
// (Plait) and a few people, and a login page of its own (no password: the
// tests sign in as whom they name). Everything protocol — discovery, keys,
// the authorization code flow with PKCE, tokens, signatures — is the
// package's.
//
// Usage: node provider.mjs
// Environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET  Plait's registration
//   OIDC_REDIRECT_URI                   Plait's callback (exact)
//   OIDC_ACCOUNTS                       JSON {subject: {email, email_verified, name}}
//   OIDC_PORT                           port to listen on (default: any)
// Prints one line, `issuer http://127.0.0.1:PORT`, once listening.

import http from 'node:http'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const tools = path.resolve(here, '../../tools/node_modules')
const { default: Provider } = await import(pathToFileURL(path.join(tools, 'oidc-provider/lib/index.js')))

const clientId = process.env.OIDC_CLIENT_ID ?? 'plait'
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'plait-test-secret'
const redirectUri = process.env.OIDC_REDIRECT_URI
if (!redirectUri) {
  console.error('OIDC_REDIRECT_URI is needed')
  process.exit(2)
}
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? '{}')

let handler = null
const server = http.createServer((req, res) => handler(req, res))
await new Promise((resolve) => server.listen(Number(process.env.OIDC_PORT ?? 0), '127.0.0.1', resolve))
const issuer = `http://127.0.0.1:${server.address().port}`

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic'
  }],
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username']
  },
  // Claims go in the ID token (Plait reads no userinfo).
  conformIdTokenClaims: false,
  findAccount: async (ctx, sub) => {
    const claims = accounts[sub]
    if (!claims) return undefined
    return { accountId: sub, claims: async () => ({ sub, ...claims }) }
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Plait is the trust's own application: no consent page.
  loadExistingGrant: async (ctx) => {
    const clientId = ctx.oidc.client.clientId
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(clientId)
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId)
      if (grant) return grant
    }
    const grant = new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session.accountId })
    grant.addOIDCScope('openid email profile')
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username'])
    await grant.save()
    ctx.oidc.session.grantIdFor(clientId, grant.jti)
    return grant
  },
  cookies: { keys: ['plait-test-provider-cookie-key'] },
  renderError: async (ctx, out) => {
    ctx.type = 'text/plain'
    ctx.body = `error: ${out.error}: ${out.error_description ?? ''}`
  }
})
provider.on('server_error', (ctx, err) => console.error('server_error', err))

function page (uid, problem) {
  return `<!doctype html><html lang="en"><head><title>Test NHS identity</title></head><body>
<h1>Sign in to the test NHS identity provider</h1>
${problem ? `<p role="alert">${problem}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label for="login">NHS account</label>
<input id="login" name="login" autocomplete="username">
<button type="submit">Continue</button>
<button type="submit" name="cancel" value="1">Cancel</button>
</form></body></html>`
}

async function body (req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  return new URLSearchParams(Buffer.concat(chunks).toString())
}

const callback = provider.callback()
handler = async (req, res) => {
  const match = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/)
  if (!match) return callback(req, res)
  try {
    const details = await provider.interactionDetails(req, res)
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      return res.end(page(details.uid))
    }
    const form = await body(req)
    if (form.get('cancel')) {
      return provider.interactionFinished(req, res,
        { error: 'access_denied', error_description: 'the person cancelled' },
        { mergeWithLastSubmission: false })
    }
    const login = form.get('login') ?? ''
    if (!accounts[login]) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      return res.end(page(details.uid, 'No such account'))
    }
    return provider.interactionFinished(req, res, { login: { accountId: login } },
      { mergeWithLastSubmission: false })
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain' })
    res.end(`interaction failed: ${e.message}`)
  }
}

console.log(`issuer ${issuer}`)
