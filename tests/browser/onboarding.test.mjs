// Onboarding a real programme (issue 14), in the browser against the real
// server: a server administrator creates a programme and imports a tracker
// as trusts keep them (a title row, a RAG column, paragraph references, a
// column the guesses miss, owners by name, one with no account), maps the
// people, and the owner then finds their action in My work; and two
// programmes side by side in one browser profile never mix their data,
// online or offline.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'

import {
  PlaitServer, launchBrowser, newPage, signIn, onFailure, screenshot, eventually,
  waitForAllSaved, waitForStatus, waitForServiceWorker, selectors, serverBinary, repoRoot
} from './support.mjs'

let server
let browser
const ROOT_PASSWORD = 'root-password-for-tests'

before(async () => {
  server = await PlaitServer.start('onboarding')
  browser = await launchBrowser()
  // A server administrator, through the running server's control socket.
  const added = spawnSync(serverBinary, [
    'user', 'add', 'root', '--name', 'Server Administrator', '--superuser', '--password-stdin',
    '--data-dir', server.dataDir
  ], { cwd: repoRoot, input: ROOT_PASSWORD + '\n' })
  assert.equal(added.status, 0, added.stderr.toString())
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

/// A day `days` from today, as trackers write it (dd/mm/yyyy).
function ukDate (days) {
  const d = new Date(Date.now() + days * 86_400_000)
  return `${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${d.getUTCFullYear()}`
}

// Due soon, so My work lists it for its owner.
const TRACKER = [
  'North Trust – CQC improvement plan,,,,,,,,,',
  'Statuses as at 1 November 2026,,,,,,,,,',
  ',,,,,,,,,',
  'Action no,Category,Regulation breached,Issue,What we will do,Programme,Action owner,Target date,Status,RAG',
  `NT1.1,Must Do,"Reg 12(2)(a), Reg 17(1)",Keep clinic rooms locked,Fit keypad locks to every clinic room,Estates,D. Hughes,${ukDate(14)},In progress,Amber`,
  ',,,,,,,,,',
  'NT1.2,Must Do,Reg 12(2)(b),Keep clinic rooms locked,Audit the locks monthly for six months,Estates,Zara Quinn,30/06/2027,Complete,Blue',
  'NT2.1,S29A,Regulation 9A,Visiting is restricted without assessment,Restore open visiting on every ward,Estates,D. Hughes,28/02/2027,Not started,Red'
].join('\n') + '\n'

test('a programme admin creates a programme, imports a real tracker, maps people, and the owner sees their work', async () => {
  const admin = await newPage(browser)
  await onFailure('onboarding-admin', { pages: { admin: admin.page }, server }, async () => {
    const page = admin.page
    await signIn(page, 'root', { password: ROOT_PASSWORD, url: server.url })
    // No programme of their own: the list, with the form to create one.
    await page.getByRole('heading', { name: 'Your programmes' }).waitFor()
    await page.getByRole('button', { name: 'Create the programme' }).click()
    const summary = page.locator('#create-errors')
    await summary.waitFor()
    assert.match(await summary.innerText(), /Enter the programme's name/)
    await page.locator('#programme-name').fill('North Trust Quality Improvement Programme')
    await page.locator('#programme-id').fill('north-qip')
    await page.locator('#programme-trust').fill('North NHS Trust')
    await page.getByRole('button', { name: 'Create the programme' }).click()
    // It opens at its import page.
    await page.waitForURL(/\/p\/north-qip\/import$/, { timeout: 20_000 })
    await waitForAllSaved(page, { timeout: 30_000 })
    await page.locator('#import-file').setInputFiles({ name: 'tracker.csv', mimeType: 'text/csv', buffer: Buffer.from(TRACKER) })
    await page.getByRole('button', { name: 'Check the file' }).click()
    await page.locator('#import-summary').waitFor({ timeout: 20_000 })
    // "Programme" is not a column Plait knows: every row lacks a workstream.
    assert.match(await page.locator('#import-errors').innerText(), /missing workstream/)
    const programmeColumn = page.getByLabel('Programme', { exact: true })
    await programmeColumn.selectOption('workstream')
    await eventually(async () => (await page.locator('#import-errors').innerText().catch(() => '')).includes('Zara Quinn') &&
      !(await page.locator('#import-errors').innerText()).includes('missing workstream'),
    { message: 'checked again with the column mapped' })
    assert.match(await page.locator('#import-summary').innerText(), /3 rows \(header on row 4\): 2 can be imported, 1 have problems/)
    // D. Hughes is matched to their account; Zara Quinn has none.
    const dee = page.getByLabel('D. Hughes', { exact: true })
    assert.equal(await dee.inputValue(), 'd.hughes')
    const zara = page.getByLabel('Zara Quinn', { exact: true })
    assert.equal(await zara.inputValue(), '')
    assert.equal(await page.locator('button[data-testid=import]').isDisabled(), true)
    await zara.selectOption('+create')
    await eventually(async () => (await page.locator('#import-errors').count()) === 0, { message: 'no problems left' })
    await screenshot(page, 'onboarding-import-mapped')
    await page.getByRole('button', { name: 'Import 3 actions' }).click()
    const created = page.locator('#created-accounts')
    await created.waitFor({ timeout: 30_000 })
    const row = await created.locator('tbody tr').innerText()
    assert.match(row, /Zara Quinn\s+zara\.quinn\s+Contributor\s+\S{12,}/)
    assert.match(await page.locator('#import-outcome').innerText(), /Imported 2 requirement\(s\) and 3 action\(s\) into 1 plan\(s\)/)
    // The new programme's overview shows its facts.
    await page.getByRole('link', { name: 'Overview' }).click()
    await eventually(async () => /North NHS Trust/.test(await page.locator('main').innerText()), { message: 'the trust shown' })
  })

  // D. Hughes is now in two programmes: the list; in the new one, My work
  // lists the action they own that is open and due.
  const owner = await newPage(browser)
  await onFailure('onboarding-owner', { pages: { owner: owner.page }, server }, async () => {
    const page = owner.page
    await signIn(page, 'd.hughes', { url: server.url })
    await page.getByRole('heading', { name: 'Your programmes' }).waitFor()
    await page.getByRole('link', { name: 'North Trust Quality Improvement Programme' }).click()
    await page.waitForURL(/\/p\/north-qip\/$/)
    await page.getByRole('link', { name: 'My work' }).click()
    await waitForAllSaved(page, { timeout: 30_000 })
    await eventually(async () => /NT1\.1 – Fit keypad locks/.test(await page.locator('main').innerText()),
      { message: 'the owner\'s action in My work', timeout: 30_000 })
    await screenshot(page, 'onboarding-my-work')
  })
  await admin.context.close()
  await owner.context.close()
})

test('two programmes side by side in one browser profile never mix their data, online or offline', async () => {
  const { context, page } = await newPage(browser)
  await onFailure('two-programmes', { pages: { page }, server }, async () => {
    await signIn(page, 'd.hughes', { url: server.url + '/p/demo/actions' })
    await waitForAllSaved(page, { timeout: 30_000 })
    const count = () => page.locator(selectors.actionCount).innerText()
    await eventually(async () => (await count()).trim() === '338 of 338 actions', { timeout: 30_000, message: 'the demo\'s actions' })
    const second = await context.newPage()
    await second.goto(server.url + '/p/north-qip/actions')
    await waitForAllSaved(second, { timeout: 30_000 })
    await eventually(async () => (await second.locator(selectors.actionCount).innerText()).trim() === '3 of 3 actions',
      { timeout: 30_000, message: 'the new programme\'s actions' })
    await waitForServiceWorker(second)
    // Offline, each reloads from this device's copy with its own data only.
    await context.setOffline(true)
    for (const [tab, expected] of [[page, '338 of 338 actions'], [second, '3 of 3 actions']]) {
      await tab.reload()
      await waitForStatus(tab, /^Offline\b/)
      await eventually(async () => (await tab.locator(selectors.actionCount).innerText()).trim() === expected,
        { timeout: 30_000, message: `offline, ${expected}` })
    }
    assert.doesNotMatch(await second.locator('main').innerText(), /MD001/)
    await context.setOffline(false)
  })
  await context.close()
})
