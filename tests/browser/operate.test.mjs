// The weekly e-mail and the end of a programme, in the browser:
//
// - My work's "By e-mail": the tickbox and "Email me this list now", whose
//   e-mail arrives at a real SMTP server run by the test (aiosmtpd,
//   requiring STARTTLS with a test CA's certificate) with the person's
//   items and links into the app; the programme manager's "Weekly e-mail"
//   day and time on the set-up page reach the server;
// - the overview's archive: the programme manager downloads it, closes the
//   programme after confirming; the overview then says it is closed, a
//   contributor's action page is read-only, and both pages pass axe at
//   320 px.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'

import {
  PlaitServer, freePort, launchBrowser, newPage, signIn, apiSignIn, fetchDoc, selectors,
  runAxe, assertNothingSerious, onFailure, repoRoot, serverBinary, screenshot, scrollsSideways,
  eventually, actionLinks, waitForActionDetail
} from './support.mjs'

function openssl (dir, args) {
  const done = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
  assert.equal(done.status, 0, `openssl ${args.join(' ')}: ${done.stderr}`)
}

/// A test CA, and a certificate it signed for 127.0.0.1.
function certificates () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plait-smtp-'))
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Plait test CA'])
  openssl(dir, ['req', ...ec, '-keyout', 'key.pem', '-out', 'server.csr', '-subj', '/CN=localhost'])
  fs.writeFileSync(path.join(dir, 'server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n')
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'cert.pem', '-days', '2', '-extfile', 'server.ext'])
  return dir
}

/// aiosmtpd requiring STARTTLS; each message taken is a JSON file in `out`.
async function startSink (port, certs, out) {
  const child = spawn('python3', [path.join(repoRoot, 'tests/e2e/smtp_sink.py'), String(port),
    path.join(certs, 'cert.pem'), path.join(certs, 'key.pem'), out, 'starttls'], {
    env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'tools/python') },
    stdio: ['pipe', 'pipe', 'inherit']
  })
  const lines = readline.createInterface({ input: child.stdout })
  await new Promise((resolve, reject) => {
    lines.on('line', (line) => { if (line.trim() === 'ready') resolve() })
    child.once('exit', (code) => reject(new Error(`the SMTP sink exited (${code})`)))
  })
  return child
}

test('the weekly e-mail from My work and the set-up page, and closing a programme into its archive', { timeout: 240_000 }, async () => {
  const certs = certificates()
  const mailbox = fs.mkdtempSync(path.join(os.tmpdir(), 'plait-mailbox-'))
  const smtpPort = await freePort()
  const sink = await startSink(smtpPort, certs, mailbox)
  const port = await freePort()
  const server = new PlaitServer({
    port,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'plait-browser-')),
    args: [
      '--public-url', `http://127.0.0.1:${port}`,
      '--smtp-url', `smtp://127.0.0.1:${smtpPort}`,
      '--smtp-ca-file', path.join(certs, 'ca.pem'),
      '--smtp-from', 'Plait <plait@trust.example>'
    ]
  })
  server.ownsDataDir = true
  const browser = await launchBrowser()
  try {
    await server.start()
    const email = spawnSync(serverBinary, ['user', 'email', 'd.hughes', 'dee.hughes@trust.example',
      '--data-dir', server.dataDir], { encoding: 'utf8' })
    assert.equal(email.status, 0, email.stderr)

    // D. Hughes asks for her list now.
    const { page } = await newPage(browser, { viewport: { width: 320, height: 800 } })
    await onFailure('digest', { pages: { page }, server }, async () => {
      await signIn(page, 'd.hughes', { url: `${server.url}/p/demo/my-work` })
      const weekly = page.getByLabel(/Email me this list every week/)
      await weekly.waitFor({ timeout: 30_000 })
      assert.equal(await weekly.isChecked(), true, 'on unless unsubscribed')
      assert.equal(await scrollsSideways(page), false)
      assertNothingSerious('My work with its e-mail choices', await runAxe(page, 'My work with its e-mail choices'))
      await page.getByRole('button', { name: 'Email me this list now' }).click()
      await page.getByText('Sent to dee.hughes@trust.example').waitFor({ timeout: 30_000 })
      const files = await eventually(() => {
        const found = fs.readdirSync(mailbox).filter((f) => f.endsWith('.json'))
        return found.length > 0 && found
      }, { message: 'the e-mail reaching the mail server' })
      const mail = JSON.parse(fs.readFileSync(path.join(mailbox, files[0]), 'utf8'))
      assert.equal(mail.tls, true, 'over STARTTLS')
      assert.deepEqual(mail.rcpt_tos, ['dee.hughes@trust.example'])
      assert.match(mail.text, /MD\d{3}\.\d/, 'names her actions by reference')
      assert.ok(mail.text.includes(`${server.url}/p/demo/`), 'links into the app')
      // Unsubscribing is kept on her account.
      await weekly.uncheck()
      await page.getByText('You will not get this list by e-mail any more.').waitFor()
      await page.reload()
      await page.getByLabel(/Email me this list every week/).waitFor({ timeout: 30_000 })
      assert.equal(await page.getByLabel(/Email me this list every week/).isChecked(), false)
    })

    // The programme manager: the weekly e-mail's time, the archive, closing.
    const { page: office } = await newPage(browser, { viewport: { width: 320, height: 800 } })
    await onFailure('archive', { pages: { office }, server }, async () => {
      await signIn(office, 'programme.office', { url: `${server.url}/p/demo/setup` })
      await office.locator('#digest-day').waitFor({ timeout: 30_000 })
      await office.locator('#digest-day').selectOption({ label: 'Wednesday' })
      await office.locator('#digest-time').fill('16:30')
      await office.getByRole('button', { name: 'Save the weekly e-mail\'s time' }).click()
      await office.getByText(/Saved on this device/).waitFor()
      const admin = await apiSignIn(server, 'programme.office')
      await eventually(async () => {
        const doc = await fetchDoc(server, admin.token, 'demo')
        const settings = doc.getMap('programme').toJSON()
        return JSON.stringify(settings).includes('16:30')
      }, { message: 'the server having the digest time' })

      await office.goto(`${server.url}/p/demo/`)
      const download = office.getByRole('link', { name: /Download the programme's archive/ })
      await download.waitFor({ timeout: 30_000 })
      const href = await download.getAttribute('href')
      const archive = await office.evaluate(async (href) => {
        const response = await fetch(href)
        return { status: response.status, type: response.headers.get('content-type'), bytes: (await response.arrayBuffer()).byteLength }
      }, href)
      assert.equal(archive.status, 200)
      assert.equal(archive.type, 'application/zip')
      assert.ok(archive.bytes > 10_000, `an archive of ${archive.bytes} bytes`)

      await office.getByText('Close the programme', { exact: true }).click()
      await office.getByRole('button', { name: 'Close and archive the programme' }).click()
      await office.locator('[data-testid=programme-closed]').waitFor({ timeout: 20_000 })
      assert.equal(await scrollsSideways(office), false)
      assertNothingSerious('a closed programme\'s overview', await runAxe(office, 'a closed programme\'s overview'))
      await screenshot(office, 'programme-closed')
    })

    // D. Hughes, after the closing: her action page is read-only.
    await onFailure('closed-read-only', { pages: { page }, server }, async () => {
      await page.goto(`${server.url}/p/demo/`)
      await page.locator('[data-testid=programme-closed]').waitFor({ timeout: 30_000 })
      const links = await actionLinks(page, server.url)
      await page.goto(`${server.url}${links[0]}`)
      await waitForActionDetail(page)
      assert.match(await page.locator(selectors.signedInAs).innerText(), /\(Viewer\)/, 'a viewer in a closed programme')
      const editable = await page.evaluate(() => [...document.querySelectorAll('main textarea, main input:not([type=hidden]), main select')]
        .filter((e) => !e.readOnly && !e.disabled && e.offsetParent !== null).map((e) => e.id || e.name))
      assert.deepEqual(editable, [], 'nothing to edit')
    })
  } finally {
    await browser.close()
    await server.kill()
    sink.kill()
  }
})
