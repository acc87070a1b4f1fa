// A hostile OpenID Connect provider for the single sign-on tests: it
// speaks the protocol (discovery, keys, code, token) but its ID tokens are
// wrong in the way the test asks, to prove Plait refuses each. Tokens are
// made and signed with `jose` (tools/node_modules).
//
// Usage: node rogue.mjs
// Environment: ROGUE_CLIENT_ID (the audience an honest token has).
// `POST /mode` with a body of one of:
//   honest          a correct token (proves the set-up signs in)
//   wrong-audience  `aud` another service
//   bad-signature   signed by a key the provider does not publish, under
//                   the published key's id
//   wrong-nonce     a nonce Plait did not send
//   expired         `exp` ten minutes ago
//   wrong-issuer    `iss` another provider
//   unsigned        `alg: none`
// Prints one line, `issuer http://127.0.0.1:PORT`, once listening.

import http from 'node:http'
import path from 'node:path'
import crypto from 'node:crypto'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const tools = path.resolve(here, '../../tools/node_modules')
const jose = await import(pathToFileURL(path.join(tools, 'jose/dist/webapi/index.js')))

const clientId = process.env.ROGUE_CLIENT_ID ?? 'plait'
const published = await jose.generateKeyPair('RS256', { extractable: true })
const unpublished = await jose.generateKeyPair('RS256', { extractable: true })
const jwk = { ...(await jose.exportJWK(published.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }

let mode = 'honest'
const codes = new Map()

let handler = null
const server = http.createServer((req, res) => handler(req, res))
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const issuer = `http://127.0.0.1:${server.address().port}`

function json (res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(value))
}

async function body (req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  return Buffer.concat(chunks).toString()
}

function b64url (value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

async function idToken (claims) {
  if (mode === 'unsigned') {
    return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`
  }
  const key = mode === 'bad-signature' ? unpublished.privateKey : published.privateKey
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
    .sign(key)
}

handler = async (req, res) => {
  const url = new URL(req.url, issuer)
  if (url.pathname === '/.well-known/openid-configuration') {
    return json(res, 200, {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'email', 'profile'],
      code_challenge_methods_supported: ['S256']
    })
  }
  if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] })
  if (url.pathname === '/mode' && req.method === 'POST') {
    mode = (await body(req)).trim()
    return json(res, 200, { mode })
  }
  if (url.pathname === '/authorize') {
    const code = crypto.randomBytes(16).toString('hex')
    codes.set(code, {
      nonce: url.searchParams.get('nonce'),
      challenge: url.searchParams.get('code_challenge')
    })
    const back = new URL(url.searchParams.get('redirect_uri'))
    back.searchParams.set('code', code)
    back.searchParams.set('state', url.searchParams.get('state'))
    res.writeHead(302, { location: back.toString() })
    return res.end()
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    const form = new URLSearchParams(await body(req))
    const grant = codes.get(form.get('code'))
    codes.delete(form.get('code'))
    if (!grant) return json(res, 400, { error: 'invalid_grant' })
    const verifier = form.get('code_verifier') ?? ''
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url')
    if (challenge !== grant.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE' })
    const now = Math.floor(Date.now() / 1000)
    const claims = {
      iss: mode === 'wrong-issuer' ? 'http://elsewhere.example' : issuer,
      sub: 'rogue-subject',
      aud: mode === 'wrong-audience' ? 'another-service' : clientId,
      iat: mode === 'expired' ? now - 900 : now,
      exp: mode === 'expired' ? now - 600 : now + 300,
      nonce: mode === 'wrong-nonce' ? 'a-nonce-plait-never-sent' : grant.nonce,
      email: 'rogue@nhs.net',
      email_verified: true,
      name: 'Rogue Person'
    }
    return json(res, 200, {
      access_token: crypto.randomBytes(16).toString('hex'),
      token_type: 'Bearer',
      expires_in: 300,
      id_token: await idToken(claims)
    })
  }
  res.writeHead(404)
  res.end()
}

console.log(`issuer ${issuer}`)
