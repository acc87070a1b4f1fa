// A committee meeting in the browser (issue 16), against the real server
// and the demo: the chair opens the next Quality and Safety Committee
// meeting's pack (the proposed closures on its agenda, each with its
// finding, evidence, verdicts, assurance and the lead's endorsement),
// approves every proposed closure but one, returns that one with a reason,
// enters the minute reference once and records them all in one go; the
// server has every decision naming the meeting. The chair then drafts the
// chair's report (Alert / Advise / Assure) from the decisions and saves it
// (nothing else of the meeting changes); the programme office sees it.
// axe on the pages; the pack prints.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'

import {
  PlaitServer, launchBrowser, newPage, signIn, apiSignIn, fetchDoc, demoState, onFailure, screenshot,
  eventually, waitForAllSaved, runAxe, assertNothingSerious,
  focusMovesTo
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('meetings')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

const axe = async (page, label) => assertNothingSerious(label, await runAxe(page, label))

const serverState = () => demoState(server)

test('a chair decides a meeting\'s proposed closures at once; the chair\'s report drafts from them', async () => {
  const before = await serverState()
  const [meetingId] = Object.entries(before.meetings)
    .filter(([, m]) => m.forum_id === 'qsc')
    .sort((a, b) => b[1].date.localeCompare(a[1].date))[0]
  const proposed = before.actions.filter((a) => a.json.transitions.at(-1)?.to === 'evidence_accepted')
  assert.ok(proposed.length >= 5, 'closures await the committee')
  const chair = await newPage(browser)
  let returnedRef
  await onFailure('meetings-chair', { pages: { chair: chair.page }, server }, async () => {
    const page = chair.page
    await signIn(page, 'qsc.chair', { url: server.url })
    await page.goto(server.url + '/p/demo/meetings')
    await page.locator('[data-testid=meetings] a').first().waitFor({ timeout: 30_000 })
    await axe(page, 'the meetings page')
    await page.goto(`${server.url}/p/demo/meetings/${meetingId}`)
    const closures = page.locator('[data-testid=agenda-item]').filter({ hasText: 'Proposed closure:' })
    await eventually(async () => (await closures.locator('select').count()) === proposed.length,
      { timeout: 30_000, message: 'every proposed closure on the agenda, with a decision to take' })
    const first = closures.first()
    assert.match(await first.innerText(), /Proposed closure: /)
    assert.match(await first.innerText(), /Endorsed by /)
    assert.match(await first.innerText(), /assurance/i)
    await waitForAllSaved(page, { timeout: 30_000 })
    await axe(page, 'a committee pack')
    await screenshot(page, 'committee-pack')

    await page.getByRole('button', { name: 'Approve every proposed closure' }).click()
    const last = closures.last()
    returnedRef = (await last.locator('h3').innerText()).match(/: (\S+) – /)[1]
    await last.locator('select').selectOption('return')
    await last.locator('textarea').fill('The audit covers one ward of three')
    await page.locator('#pack-minute').fill('QSC/27/04')
    await page.getByRole('button', { name: 'Record the committee\'s decisions' }).click()
    await page.getByText(`${proposed.length} decision(s) recorded.`).waitFor({ timeout: 15_000 })
    await focusMovesTo(page, 'pack-message', 'focus on what happened')
    await eventually(async () => (await page.locator('[data-testid=decided]').count()) === proposed.length,
      { message: 'every item shows its decision' })
    await waitForAllSaved(page, { timeout: 30_000 })
    await page.emulateMedia({ media: 'print' })
    assert.equal(await page.locator('header.nhsuk-header').isVisible(), false, 'the printed pack has no frame')
    await page.emulateMedia({ media: 'screen' })
  })
  // On the server: each decision names the meeting.
  await eventually(async () => {
    const now = await serverState()
    const decided = now.actions.filter((a) => (a.json.decisions ?? []).some((d) => d.meeting === meetingId))
    return decided.length === proposed.length
  }, { timeout: 20_000, message: 'the decisions on the server' })
  const now = await serverState()
  const returned = now.actions.find((a) => a.json.ref === returnedRef)
  const decision = returned.json.decisions.at(-1)
  assert.equal(decision.outcome, 'return')
  assert.equal(decision.note, 'The audit covers one ward of three')
  assert.match(decision.minute_ref, /^QSC\/27\/04 item \d+$/)
  assert.equal(returned.json.transitions.at(-1).to, 'in_progress')

  // The chair writes the chair's report to the board, drafted from the
  // decisions (the rest of the programme stays the programme office's).
  await onFailure('meetings-report', { pages: { chair: chair.page }, server }, async () => {
    const page = chair.page
    await eventually(async () => (await page.locator('[data-testid=decided]').count()) === proposed.length,
      { timeout: 30_000, message: 'the decided pack' })
    await page.getByRole('button', { name: 'Draft from this meeting\'s decisions' }).click()
    assert.match(await page.locator('#report-assure').inputValue(), new RegExp(`approved the closure of ${proposed.length - 1} action`))
    assert.match(await page.locator('#report-advise').inputValue(), new RegExp(`returned to their owners: ${returnedRef}`))
    await page.locator('#report-alert').fill('None this month.')
    await page.getByRole('button', { name: 'Save the chair\'s report' }).click()
    await waitForAllSaved(page, { timeout: 30_000 })
    await axe(page, 'a committee pack with the chair\'s report')
  })
  await eventually(async () => {
    const { meetings } = await serverState()
    return meetings[meetingId].alert === 'None this month.' && /approved the closure/.test(meetings[meetingId].assure)
  }, { timeout: 20_000, message: 'the chair\'s report on the server' })
  const { meetings } = await serverState()
  assert.equal(meetings[meetingId].date, before.meetings[meetingId].date, 'the meeting itself unchanged')
  assert.equal(meetings[meetingId].title, before.meetings[meetingId].title)
  await chair.context.close()

  // The programme office sees it, and can still edit it.
  const office = await newPage(browser)
  await onFailure('meetings-office', { pages: { office: office.page }, server }, async () => {
    const page = office.page
    await signIn(page, 'programme.office', { url: server.url })
    await page.goto(`${server.url}/p/demo/meetings/${meetingId}`)
    await eventually(async () => (await page.locator('#report-alert').inputValue()) === 'None this month.',
      { timeout: 30_000, message: 'the chair\'s report on the office\'s page' })
  })
  await office.context.close()
})

test('the programme office keeps a meeting\'s papers: a file (sent when online) and a link; a board member reads them', async () => {
  const { meetings } = await serverState()
  const [meetingId] = Object.entries(meetings)
    .filter(([, m]) => m.forum_id === 'qsc')
    .sort((a, b) => b[1].date.localeCompare(a[1].date))[0]
  const file = Buffer.from('%PDF-1.4 minutes of the last meeting of the Quality and Safety Committee\n')
  const sha = crypto.createHash('sha256').update(file).digest('hex')
  const office = await newPage(browser)
  await onFailure('meeting-papers-office', { pages: { office: office.page }, server }, async () => {
    const page = office.page
    await signIn(page, 'programme.office', { url: server.url })
    await page.goto(`${server.url}/p/demo/meetings/${meetingId}`)
    await page.locator('#paper-file').waitFor({ timeout: 30_000 })
    // Without the confirmation: an error, and nothing added.
    await page.locator('#paper-file').setInputFiles({ name: 'minutes.pdf', mimeType: 'application/pdf', buffer: file })
    await page.getByRole('button', { name: 'Add the paper' }).click()
    await page.locator('#paper-errors').getByText('Confirm that the file holds no patient-identifiable data').waitFor()
    // Offline, with the confirmation: kept on the device, sent when online.
    await office.context.setOffline(true)
    await page.locator('#paper-title').fill('Minutes of the last meeting')
    await page.locator('#paper-no-pid').check()
    await page.getByRole('button', { name: 'Add the paper' }).click()
    await page.locator('[data-testid=meeting-papers]').getByRole('link', { name: 'Minutes of the last meeting' }).waitFor({ timeout: 15_000 })
    await office.context.setOffline(false)
    await waitForAllSaved(page, { timeout: 30_000 })
    // A link.
    await page.locator('#paper-kind').selectOption('link')
    await page.locator('#paper-title').fill('Ligature audit dashboard')
    await page.locator('#paper-link').fill('https://intranet.example.nhs.uk/ligature-dashboard')
    await page.getByRole('button', { name: 'Add the paper' }).click()
    await page.locator('[data-testid=meeting-papers]').getByRole('link', { name: 'Ligature audit dashboard' }).waitFor()
    await waitForAllSaved(page, { timeout: 30_000 })
    await axe(page, 'a meeting with its papers')
  })
  await office.context.close()
  // On the server: both papers of the meeting, and the file byte for byte.
  const { token } = await apiSignIn(server, 'board')
  await eventually(async () => {
    const programme = await fetchDoc(server, token, 'demo')
    const papers = Object.values(programme.getMap('meeting_papers').toJSON()).filter((p) => p.meeting_id === meetingId)
    return papers.some((p) => p.kind === 'file' && p.location === sha && p.file_name === 'minutes.pdf') &&
      papers.some((p) => p.kind === 'link' && p.location === 'https://intranet.example.nhs.uk/ligature-dashboard')
  }, { timeout: 20_000, message: 'the meeting\'s papers on the server' })
  await eventually(async () => {
    const blob = await fetch(`${server.url}/api/blobs/${sha}?doc=demo`, { headers: { authorization: `Bearer ${token}` } })
    return blob.status === 200 && Buffer.from(await blob.arrayBuffer()).equals(file)
  }, { timeout: 20_000, message: 'the file on the server, byte for byte, for a board member' })
  // A board member (a viewer) sees them, and cannot add one.
  const viewer = await newPage(browser)
  await onFailure('meeting-papers-viewer', { pages: { viewer: viewer.page }, server }, async () => {
    const page = viewer.page
    await signIn(page, 'board', { url: server.url })
    await page.goto(`${server.url}/p/demo/meetings/${meetingId}`)
    await page.locator('[data-testid=meeting-papers]').getByRole('link', { name: 'Minutes of the last meeting' }).waitFor({ timeout: 30_000 })
    assert.equal(await page.locator('#paper-file').count(), 0, 'no form for a viewer')
  })
  await viewer.context.close()
})
