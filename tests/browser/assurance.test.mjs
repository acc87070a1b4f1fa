// Assurance a board can rely on (issue 15), in the browser against the real
// server and the demo programme:
//
// - an executive lead's My work lists the completions to endorse in their
//   portfolio and nobody else's; they endorse one, and the server has it;
//   on another lead's action they are offered nothing;
// - an owner cannot propose completion with no evidence, and the page says
//   why; a board member sees an action as a read-only summary;
// - a re-audit not yet in its window cannot be recorded (the page says
//   when it opens);
// - the programme manager records that CQC lifted a warning-notice
//   failing (day, month and year) and the register says so;
// axe on every page touched.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, apiSignIn, fetchDoc, onFailure, screenshot,
  eventually, waitForAllSaved, waitForActionDetail, runAxe, assertNothingSerious
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('assurance')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

const lastStatus = (action) => action.transitions.at(-1)?.to

/// Every action of the demo as the server holds it: { plan, id, json }.
async function serverActions () {
  const { token } = await apiSignIn(server, 'chief.nurse')
  const programme = await fetchDoc(server, token, 'demo')
  const all = []
  for (const plan of programme.getMap('plans').keys()) {
    const doc = await fetchDoc(server, token, plan)
    for (const [id, action] of doc.getMap('actions').entries()) {
      all.push({ plan, id, json: action.toJSON() })
    }
  }
  return all
}

const axe = async (page, label) => assertNothingSerious(label, await runAxe(page, label))

test('a lead endorses the completions in their portfolio, and only those', async () => {
  const actions = await serverActions()
  const proposed = actions.filter((a) => lastStatus(a.json) === 'completion_proposed')
  const mine = proposed.filter((a) => a.json.exec_lead === 'chief.nurse')
  const theirs = actions.find((a) => a.json.exec_lead !== 'chief.nurse' && lastStatus(a.json) === 'completion_proposed')
  assert.ok(mine.length >= 1, 'the Chief Nurse has completions to endorse')
  assert.ok(theirs, 'another lead has one too')
  const { context, page } = await newPage(browser)
  await onFailure('assurance-lead', { pages: { page }, server }, async () => {
    await signIn(page, 'chief.nurse', { url: server.url })
    await page.goto(server.url + '/p/demo/my-work')
    const list = page.locator('ul[aria-label="Completions to endorse"]')
    await eventually(async () => (await list.locator('li').count().catch(() => 0)) === mine.length,
      { timeout: 30_000, message: 'every completion of her portfolio, once the plans are here' })
    const listed = await list.locator('li a').allInnerTexts()
    const references = mine.map((a) => a.json.ref).sort()
    assert.deepEqual(listed.map((t) => t.split(' – ')[0]).sort(), references, 'exactly her portfolio\'s')
    await waitForAllSaved(page, { timeout: 30_000 })
    await screenshot(page, 'my-work-lead')
    await axe(page, 'a lead\'s My work')

    // Another lead's completion: nothing to move.
    await page.goto(`${server.url}/p/demo/actions/${theirs.plan}/${theirs.id}`)
    await waitForActionDetail(page)
    await page.getByText(/there is nothing you can move this action to/).waitFor({ timeout: 15_000 })
    assert.equal(await page.getByRole('button', { name: 'Move to Endorsed by executive lead' }).count(), 0)

    // Her own: endorsed, on the server too.
    const target = mine[0]
    await page.goto(`${server.url}/p/demo/actions/${target.plan}/${target.id}`)
    await waitForActionDetail(page)
    await page.getByRole('button', { name: 'Move to Endorsed by executive lead' }).click()
    await eventually(async () => (await page.locator('[data-testid=status]').innerText()) === 'Endorsed by executive lead',
      { message: 'the status on her page' })
    // The button is gone; keyboard focus stays in the lifecycle section.
    await eventually(async () => (await page.evaluate(() => document.activeElement?.id)) === 'lifecycle',
      { message: 'focus on the lifecycle section' })
    await waitForAllSaved(page, { timeout: 30_000 })
    await axe(page, 'an action the lead endorsed')
  })
  await eventually(async () => {
    const now = (await serverActions()).find((a) => a.id === mine[0].id)
    return lastStatus(now.json) === 'endorsed'
  }, { timeout: 20_000, message: 'the endorsement on the server' })
  await context.close()
})

test('no evidence, no proposal: the owner is told why; a board member reads a summary', async () => {
  const actions = await serverActions()
  const bare = actions.find((a) => a.json.owner === 'd.hughes' && lastStatus(a.json) === 'in_progress' && a.json.evidence.length === 0)
  assert.ok(bare, 'D. Hughes has an action in progress with no evidence')
  const url = `${server.url}/p/demo/actions/${bare.plan}/${bare.id}`
  const owner = await newPage(browser)
  await onFailure('assurance-no-evidence', { pages: { owner: owner.page }, server }, async () => {
    await signIn(owner.page, 'd.hughes', { url: server.url })
    await owner.page.goto(url)
    await waitForActionDetail(owner.page)
    await owner.page.locator('[data-testid=steps-waiting]').waitFor({ timeout: 15_000 })
    assert.match(await owner.page.locator('[data-testid=steps-waiting]').innerText(),
      /Completion proposed: This step needs evidence attached to the action/)
    assert.equal(await owner.page.getByRole('button', { name: 'Move to Completion proposed' }).count(), 0)
    // The evidence form asks for the type, period and place, dates as
    // day, month and year.
    for (const id of ['#evidence-type', '#evidence-site', '#evidence-from-day', '#evidence-to-year']) {
      assert.equal(await owner.page.locator(id).count(), 1, id)
    }
    await waitForAllSaved(owner.page, { timeout: 30_000 })
    await axe(owner.page, 'an owner\'s action page with nothing to propose yet')
  })
  const board = await newPage(browser)
  await onFailure('assurance-board', { pages: { board: board.page }, server }, async () => {
    await signIn(board.page, 'board', { url: server.url })
    await board.page.goto(url)
    await waitForActionDetail(board.page)
    await board.page.locator('[data-testid=details-summary]').waitFor({ timeout: 15_000 })
    assert.equal(await board.page.locator('textarea#title').count(), 0, 'no greyed form')
    assert.equal(await board.page.locator('#evidence-title').count(), 0, 'no evidence form')
    await screenshot(board.page, 'action-read-only')
    await axe(board.page, 'an action page as a board member')
  })
  await owner.context.close()
  await board.context.close()
})

test('a re-audit is recorded only from its window; the page says when it opens', async () => {
  const actions = await serverActions()
  const today = new Date().toISOString().slice(0, 10)
  const opensOn = (due) => {
    const d = new Date(due + 'T00:00:00Z')
    d.setUTCDate(d.getUTCDate() - 14)
    return d.toISOString().slice(0, 10)
  }
  const early = actions.find((a) => lastStatus(a.json) === 'closed' &&
    a.json.sustainment.some((s) => s.type === 'scheduled' && opensOn(s.due) > today))
  assert.ok(early, 'a closed action whose re-audit is not open yet')
  const { context, page } = await newPage(browser)
  await onFailure('assurance-reaudit-window', { pages: { page }, server }, async () => {
    await signIn(page, 'compliance', { url: server.url })
    await page.goto(`${server.url}/p/demo/actions/${early.plan}/${early.id}`)
    await waitForActionDetail(page)
    await page.locator('#reaudits').waitFor({ timeout: 15_000 })
    await eventually(async () => /opens \d+ \w+ \d{4}/.test(await page.locator('#reaudits ~ ul').first().innerText().catch(() => '')),
      { message: 'the re-audit says when it opens' })
    assert.equal(await page.getByRole('button', { name: 'Passed' }).count(), 0, 'nothing to record yet')
    await waitForAllSaved(page, { timeout: 30_000 })
    await axe(page, 'a closed action awaiting its re-audit')
  })
  await context.close()
})

test('the programme manager records that CQC lifted a failing; the register says so', async () => {
  const { context, page } = await newPage(browser)
  await onFailure('assurance-lifted', { pages: { page }, server }, async () => {
    await signIn(page, 'programme.office', { url: server.url })
    await page.goto(server.url + '/p/demo/warning-notice')
    await eventually(async () => (await page.locator('[data-testid=failing-status]').count()) === 4,
      { timeout: 30_000, message: 'the four failings' })
    const first = page.locator('details.nhsuk-details').first()
    await first.locator('summary').click()
    const lifted = first.locator('fieldset').nth(1)
    await lifted.getByLabel('Day').fill('3')
    await lifted.getByLabel('Month').fill('3')
    await lifted.getByLabel('Year').fill('2027')
    await first.getByLabel('The letter that lifted it').fill('CQC letter of 3 March 2027')
    await first.getByRole('button', { name: 'Save' }).click()
    await eventually(async () => /Lifted on 3 Mar 2027 by CQC letter of 3 March 2027/.test(
      await page.locator('[data-testid=failing-status]').first().innerText()),
    { message: 'the register says it was lifted' })
    await waitForAllSaved(page, { timeout: 30_000 })
    await screenshot(page, 'warning-notice-lifted')
    await axe(page, 'the warning notice register with its forms')
  })
  await context.close()
})

test('an agreed action\'s title changes only with its lead: the owner asks, the lead approves', async () => {
  const actions = await serverActions()
  const target = actions.find((a) => a.json.owner === 'd.hughes' && lastStatus(a.json) === 'in_progress')
  assert.ok(target, 'D. Hughes has an agreed action in progress')
  const url = `${server.url}/p/demo/actions/${target.plan}/${target.id}`
  const wording = `${target.json.title} (both wards)`
  const owner = await newPage(browser)
  await onFailure('assurance-wording-owner', { pages: { owner: owner.page }, server }, async () => {
    await signIn(owner.page, 'd.hughes', { url: server.url })
    await owner.page.goto(url)
    await waitForActionDetail(owner.page)
    assert.ok(await owner.page.locator('#title').evaluate((e) => e.readOnly), 'the title is not the owner\'s to rewrite')
    assert.match(await owner.page.locator('#title-hint').innerText(), /executive lead's approval/)
    assert.ok(!(await owner.page.locator('#description').evaluate((e) => e.readOnly)), 'the description is')
    await owner.page.locator('#wording-proposed').fill(wording)
    await owner.page.locator('#wording-reason').fill('It covers both wards now')
    await owner.page.getByRole('button', { name: 'Send to the executive lead' }).last().click()
    await owner.page.getByText('Request sent to the executive lead.').waitFor()
    await waitForAllSaved(owner.page, { timeout: 30_000 })
    await axe(owner.page, 'an action with a wording request')
  })
  const lead = await newPage(browser)
  await onFailure('assurance-wording-lead', { pages: { lead: lead.page }, server }, async () => {
    await signIn(lead.page, target.json.exec_lead, { url: server.url })
    await lead.page.goto(server.url + '/p/demo/my-work')
    await eventually(async () => /New wording of the title asked/.test(await lead.page.locator('ul[aria-label="Requests to answer"]').innerText().catch(() => '')),
      { timeout: 30_000, message: 'the request in the lead\'s My work' })
    await lead.page.goto(url)
    await waitForActionDetail(lead.page)
    await lead.page.getByRole('button', { name: 'Approve the wording' }).click()
    await eventually(async () => (await lead.page.inputValue('#title')) === wording, { message: 'the title as approved' })
    await waitForAllSaved(lead.page, { timeout: 30_000 })
  })
  await eventually(async () => {
    const now = (await serverActions()).find((a) => a.id === target.id)
    return now.json.title === wording
  }, { timeout: 20_000, message: 'the new title on the server' })
  await owner.context.close()
  await lead.context.close()
})
