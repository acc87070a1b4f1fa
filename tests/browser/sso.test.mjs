// Signing in with the trust's own accounts (OpenID Connect), in the
// browser, against the certified `oidc-provider` package run by the test
// (tests/oidc/provider.mjs):
//
// - the sign-in page offers "Sign in with NHSmail" next to the password
//   form, at 320 px, passing axe;
// - cancelling at the provider comes back to the sign-in page saying so,
//   in the error summary;
// - an identity linked with `plait user link` (the command line, through the
//   running server) signs in to its account and lands where it began;
// - signing out, then an identity with no account (refused by setting):
//   the sign-in page says to ask the programme office.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'

import {
  PlaitServer, freePort, launchBrowser, newPage, selectors, runAxe, assertNothingSerious,
  onFailure, repoRoot, serverBinary, screenshot, scrollsSideways
} from './support.mjs'

/// Starts the provider for a Plait on `port`; resolves to its issuer and
/// process once it listens.
async function startProvider (port, accounts) {
  const child = spawn('node', [path.join(repoRoot, 'tests/oidc/provider.mjs')], {
    env: {
      ...process.env,
      OIDC_CLIENT_ID: 'plait',
      OIDC_CLIENT_SECRET: 'browser-test-secret',
      OIDC_REDIRECT_URI: `http://127.0.0.1:${port}/api/auth/oidc/callback`,
      OIDC_ACCOUNTS: JSON.stringify(accounts)
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines = readline.createInterface({ input: child.stdout })
  const issuer = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(line.replace(/^issuer /, '')))
    child.once('exit', (code) => reject(new Error(`the provider exited (${code})`)))
  })
  return { issuer, child }
}

test('signing in with the trust\'s accounts: a linked identity, a cancelled sign-in, an unknown one', { timeout: 180_000 }, async () => {
  const port = await freePort()
  const provider = await startProvider(port, {
    'nhsmail-dh-0001': { name: 'Dee Hughes', preferred_username: 'dee.hughes@nhs.net' },
    'nhsmail-stranger': { name: 'A. Stranger', email: 'stranger@nhs.net', email_verified: true }
  })
  const secretFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plait-sso-')), 'secret')
  fs.writeFileSync(secretFile, 'browser-test-secret\n')
  const server = new PlaitServer({
    port,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'plait-browser-')),
    args: [
      '--public-url', `http://127.0.0.1:${port}`,
      '--oidc-issuer', provider.issuer,
      '--oidc-client-id', 'plait',
      '--oidc-client-secret-file', secretFile,
      '--oidc-label', 'NHSmail',
      '--oidc-unknown', 'refuse'
    ]
  })
  server.ownsDataDir = true
  const browser = await launchBrowser()
  try {
    await server.start()
    // The programme office links D. Hughes's NHSmail identity to her
    // account (the running server's control socket).
    const linked = spawnSync(serverBinary, [
      'user', 'link', 'd.hughes', '--issuer', provider.issuer, '--subject', 'nhsmail-dh-0001',
      '--data-dir', server.dataDir
    ], { encoding: 'utf8' })
    assert.equal(linked.status, 0, linked.stderr)

    const { page } = await newPage(browser, { viewport: { width: 320, height: 800 } })
    await onFailure('sso', { pages: { page }, server }, async () => {
      await page.goto(`${server.url}/p/demo/actions`)
      const button = page.getByRole('button', { name: 'Sign in with NHSmail' })
      await button.waitFor({ timeout: 30_000 })
      assert.equal(await scrollsSideways(page), false, 'no sideways scroll at 320 px')
      assertNothingSerious('sign-in with an identity provider', await runAxe(page, 'sign-in with an identity provider'))
      await screenshot(page, 'sso-sign-in')

      // The linked identity: signed in as D. Hughes, where she began.
      await button.click()
      await page.locator('#login').fill('nhsmail-dh-0001')
      await page.getByRole('button', { name: 'Continue' }).click()
      await page.locator(selectors.signedInAs).waitFor({ timeout: 30_000 })
      assert.match(await page.locator(selectors.signedInAs).innerText(), /D\. Hughes/)
      assert.equal(new URL(page.url()).pathname, '/p/demo/actions')

      // Signing out ends Plait's session (the provider's own stays, as
      // single sign-on does).
      await page.locator('.nhsuk-header__account-button').click()
      await page.getByRole('button', { name: 'Sign in with NHSmail' }).waitFor({ timeout: 20_000 })
      assert.equal(await page.evaluate(async () => (await fetch('/api/me')).status), 401)
    })

    // On another browser: a sign-in cancelled at the provider, then
    // someone with no account: refused, told why.
    const { page: other } = await newPage(browser)
    await onFailure('sso-unknown', { pages: { other }, server }, async () => {
      await other.goto(`${server.url}/`)
      // Cancelled at the provider: back, told so, focus on the summary.
      await other.getByRole('button', { name: 'Sign in with NHSmail' }).click()
      await other.locator('#login').waitFor()
      await other.getByRole('button', { name: 'Cancel' }).click()
      await other.locator('#error-summary').waitFor({ timeout: 20_000 })
      assert.match(await other.locator('#error-summary').innerText(), /Signing in was cancelled/)
      await other.waitForFunction(() => document.activeElement?.id === 'error-summary', null, { timeout: 2000 })
      assert.equal(await other.evaluate(() => location.search), '', 'the address is tidied')

      await other.getByRole('button', { name: 'Sign in with NHSmail' }).click()
      await other.locator('#login').fill('nhsmail-stranger')
      await other.getByRole('button', { name: 'Continue' }).click()
      await other.locator('#error-summary').waitFor({ timeout: 20_000 })
      assert.match(await other.locator('#error-summary').innerText(), /not set up in Plait/)
      assert.equal(await other.evaluate(async () => (await fetch('/api/me')).status), 401, 'not signed in')
    })
  } finally {
    await browser.close()
    await server.kill()
    provider.child.kill()
  }
})
