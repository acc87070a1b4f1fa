// Phase 2 (issue 17), in headless Chromium against the real server and the
// demo: the driver diagram drawn as an SVG with its list; two people edit
// it while both are offline (an executive lead adds a driver, the
// programme office a change idea and a link to an action) and, online
// again, both see both and the server has both; a ward's owner plans and
// studies a PDSA cycle; a root cause's findings and a finding's root
// causes; exit criteria counted on the page, the overview and the board
// paper's phase-2 section; measure values from CSV, a bad line named;
// axe on each page.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, apiSignIn, fetchDoc, onFailure, screenshot,
  eventually, waitForAllSaved, waitForStatus, runAxe, assertNothingSerious, demoState,
  focusMovesTo
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('phase-two')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

const axe = async (page, label) => assertNothingSerious(label, await runAxe(page, label))

const programme = async () => {
  const { token } = await apiSignIn(server, 'board')
  return fetchDoc(server, token, 'demo')
}
const drivers = async () => Object.values((await programme()).getMap('drivers').toJSON())
const links = async () => Object.values((await programme()).getMap('links').toJSON())

const choose = async (page, id, labelPart) => {
  const value = await eventually(() => page.locator(`#${id} option`).evaluateAll(
    (options, part) => options.find((o) => o.textContent.includes(part))?.value, labelPart),
  { timeout: 30_000, message: `an option of #${id} with ${labelPart}` })
  await page.locator(`#${id}`).selectOption(value)
}

test('a driver diagram edited offline on two devices merges, and a PDSA cycle is run', async () => {
  const lead = await newPage(browser)
  const office = await newPage(browser)
  const pages = { lead: lead.page, office: office.page }
  const { actions: [action] } = await demoState(server)
  await onFailure('phase-two-merge', { pages, server }, async () => {
    await signIn(lead.page, 'chief.nurse', { url: server.url })
    await signIn(office.page, 'programme.office', { url: server.url })
    for (const { page } of [lead, office]) {
      await page.goto(`${server.url}/p/demo/driver-diagrams`)
      await page.locator('[data-testid=driver-diagram]').first().waitFor({ timeout: 30_000 })
      await eventually(async () => (await page.locator('[data-testid=driver-node]').count()) === 11, { message: '11 nodes' })
      await waitForAllSaved(page, { timeout: 30_000 })
    }
    const page = lead.page
    // The SVG and its text alternative.
    const svg = page.locator('[data-testid=driver-diagram]')
    assert.equal(await svg.locator('rect').count(), 11)
    assert.match(await svg.locator('desc').textContent(), /3 primary drivers, 3 secondary drivers and 4 change ideas/)
    assert.match(await page.locator('[data-testid=aim]').innerText(), /Safewards interventions on Cedar ward.*\(adopt\)/s)
    await axe(page, 'the driver diagrams page')
    await screenshot(page, 'driver-diagram')

    // Both offline.
    await lead.context.setOffline(true)
    await office.context.setOffline(true)
    for (const [name, p] of Object.entries(pages)) await waitForStatus(p, /^Offline\b/, { label: name })
    // The lead: a primary driver under the aim.
    await choose(lead.page, 'node-parent', 'Aim: Reduce physical restraint')
    await lead.page.locator('#node-text').fill('Patients and carers involved in ward life')
    await lead.page.getByRole('button', { name: 'Add it' }).click()
    await lead.page.getByText('Primary driver added: Patients and carers').waitFor()
    // The office: a change idea under a secondary driver, linked to an action.
    await choose(office.page, 'node-parent', 'Secondary driver: Meaningful activity')
    await office.page.locator('#node-text').fill('Evening activity timetable co-produced with patients')
    await office.page.getByRole('button', { name: 'Add it' }).click()
    await office.page.getByText('Change idea added: Evening activity').waitFor()
    await choose(office.page, 'driver-link-from', 'Change idea: Evening activity timetable')
    await office.page.locator('#driver-link-to').selectOption(`action:${action.plan}/${action.id}`)
    await office.page.getByRole('button', { name: 'Link it' }).click()
    await office.page.getByText('Linked.').first().waitFor()
    assert.equal(await office.page.getByText('Patients and carers involved in ward life').count(), 0, 'the office cannot see the lead\'s driver offline')
    for (const [name, p] of Object.entries(pages)) await waitForStatus(p, /^Offline · \d+ changes? waiting to sync/, { label: name })

    // Online again: both see both.
    await lead.context.setOffline(false)
    await office.context.setOffline(false)
    for (const p of Object.values(pages)) {
      await eventually(async () => (await p.locator('[data-testid=driver-node]').count()) === 13, { timeout: 30_000, message: '13 nodes on each device' })
      await p.getByText('Patients and carers involved in ward life').first().waitFor()
      await p.getByText('Evening activity timetable co-produced with patients').first().waitFor()
      await waitForAllSaved(p, { timeout: 30_000 })
    }
    const stored = await drivers()
    assert.equal(stored.length, 13, 'the server has both')
    const idea = stored.find((d) => d.text === 'Evening activity timetable co-produced with patients')
    assert.equal(idea.kind, 'change_idea')
    assert.ok((await links()).some((l) => l.to === `action:${action.plan}/${action.id}`), 'the link to the action on the server')
    // The office rewords the lead's driver; the lead sees it.
    await choose(office.page, 'reword-node', 'Primary driver: Patients and carers')
    await eventually(async () => (await office.page.inputValue('#reword-text')) === 'Patients and carers involved in ward life', { message: 'the wording to change' })
    await office.page.locator('#reword-text').fill('Patients and carers shape ward life')
    await office.page.getByRole('button', { name: 'Reword it' }).click()
    await lead.page.getByText('Patients and carers shape ward life').first().waitFor({ timeout: 30_000 })
    // The change idea lists its action on the lead's device.
    const card = lead.page.locator('[data-testid=change-idea]', { hasText: 'Evening activity timetable' })
    await card.getByRole('link', { name: new RegExp(`^${action.json.ref}:`) }).waitFor()
  })
  await lead.context.close()
  await office.context.close()

  // A ward's owner plans a PDSA cycle, then records what it found; the
  // diagram forms are not theirs.
  const ward = await newPage(browser, { viewport: { width: 320, height: 640 } })
  await onFailure('phase-two-pdsa', { pages: { ward: ward.page }, server }, async () => {
    const page = ward.page
    await signIn(page, 'd.hughes', { url: server.url })
    await page.goto(`${server.url}/p/demo/driver-diagrams`)
    await page.locator('#cycle-idea').waitFor({ timeout: 30_000 })
    assert.equal(await page.locator('#node-text').count(), 0, 'no diagram forms for a contributor')
    // Errors first: nothing chosen.
    await page.getByRole('button', { name: 'Plan the cycle' }).click()
    await page.locator('#cycle-errors').getByText('Choose the change idea it tests').waitFor()
    await focusMovesTo(page, 'cycle-errors')
    await choose(page, 'cycle-idea', 'Change idea: A debrief with the patient')
    await page.locator('#cycle-title').fill('Debrief huddle at handover, Beech ward, two weeks')
    await page.locator('#cycle-prediction').fill('Every restraint debriefed the same day')
    await page.getByRole('button', { name: 'Plan the cycle' }).click()
    await page.getByText('Debrief huddle at handover, Beech ward, two weeks planned.').waitFor()
    await choose(page, 'study-cycle', 'Debrief huddle at handover')
    await page.locator('#study-done').fill('Huddles held on 12 of 14 days')
    await page.locator('#study-learnt').fill('Same-day debriefs for 9 of 10 restraints')
    await page.locator('#study-decision').selectOption('adopt')
    await page.getByRole('button', { name: 'Record it' }).click()
    await page.getByText('Recorded: Adopt.').waitFor()
    await waitForAllSaved(page, { timeout: 30_000 })
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    assert.ok(sideways <= 0, `no sideways scroll at 320 px (${sideways} px)`)
  })
  await ward.context.close()
  const cycles = Object.values((await programme()).getMap('pdsa_cycles').toJSON())
  const run = cycles.find((c) => c.title === 'Debrief huddle at handover, Beech ward, two weeks')
  assert.equal(run?.decision, 'adopt', 'the cycle and its decision on the server')
})

test('root causes, exit criteria, the board paper\'s phase 2 and values from CSV', async () => {
  const { meetings } = await demoState(server)
  const [board] = Object.entries(meetings).find(([, m]) => m.forum_id === 'board')
  const office = await newPage(browser)
  await onFailure('phase-two-pages', { pages: { office: office.page }, server }, async () => {
    const page = office.page
    await signIn(page, 'programme.office', { url: server.url })
    // Root causes, and a finding's.
    await page.goto(`${server.url}/p/demo/root-causes`)
    const cause = page.locator('[data-testid=root-cause]', { hasText: 'Restraint had become' })
    await cause.waitFor({ timeout: 30_000 })
    assert.equal(await page.locator('[data-testid=root-cause]').count(), 4)
    await eventually(async () => (await cause.locator('[data-testid=linked] li').count()) === 8, { message: '8 findings' })
    assert.match(await cause.innerText(), /Found by: Five whys/)
    await axe(page, 'the root causes page')
    await cause.locator('[data-testid=linked] a').first().click()
    await page.locator('[data-testid=finding-root-causes]').getByText('Restraint had become').waitFor({ timeout: 30_000 })
    // Exit criteria.
    await page.goto(`${server.url}/p/demo/exit-criteria`)
    await page.locator('[data-testid=readiness]').getByText('1 of 5 met; 2 partly met.').waitFor({ timeout: 30_000 })
    await axe(page, 'the exit criteria page')
    await choose(page, 'exit-record-criterion', 'A credible financial plan')
    await page.locator('#exit-record-status').selectOption('met')
    await page.locator('#exit-record-evidence').fill('Plan agreed at the integrated care board\'s finance committee')
    await page.getByRole('button', { name: 'Record it' }).click()
    await page.locator('[data-testid=readiness]').getByText('2 of 5 met; 2 partly met.').waitFor()
    await waitForAllSaved(page, { timeout: 30_000 })
    await page.goto(`${server.url}/p/demo/`)
    await page.locator('.nhsuk-summary-list').getByText('2 of 5 met; 2 partly met').waitFor({ timeout: 30_000 })
    // The board paper's phase 2.
    await page.goto(`${server.url}/p/demo/papers/${board}`)
    await page.locator('#phase-2').waitFor({ timeout: 30_000 })
    await eventually(async () => (await page.locator('[data-testid=paper-measure] svg circle').count()) === 18 + 14, { message: 'both charts in the paper' })
    assert.match(await page.locator('[data-testid=paper-readiness]').innerText(), /2 of 5 exit criteria met/)
    assert.match(await page.locator('main').innerText(), /Safewards interventions on Cedar ward/)
    // Values from CSV: a bad line is named and nothing is kept; then kept.
    await page.goto(`${server.url}/p/demo/measures`)
    await choose(page, 'csv-measure', 'Staff with in-date de-escalation training')
    await page.locator('#csv-text').fill('Month,Trained\nJan 2030,81\nFeb 2030,eighty\n')
    await page.getByRole('button', { name: 'Add the values' }).click()
    await page.locator('#csv-errors').getByText('Line 3: "eighty" is not a number').waitFor()
    await page.locator('#csv-text').fill('Month,Trained\nJan 2030,81\nFeb 2030,84\n')
    await page.getByRole('button', { name: 'Add the values' }).click()
    await page.getByText('2 values added.').waitFor()
    // New limits from January 2030; then the February value removed.
    await page.locator('#rebase-measure').selectOption('m-deescalation-training')
    await page.locator('#rebase-period-day').fill('1')
    await page.locator('#rebase-period-month').fill('1')
    await page.locator('#rebase-period-year').fill('2030')
    await page.getByRole('button', { name: 'Recalculate from this period' }).click()
    const training = page.locator('[data-testid=measure]', { hasText: 'Staff with in-date' })
    await training.getByText('Limits recalculated from 1 Jan 2030.').waitFor()
    await training.getByText('The values').click()
    await training.getByRole('button', { name: 'Remove the value for 1 Feb 2030' }).click()
    await eventually(async () => (await training.locator('svg circle').count()) === 15, { message: '15 dots' })
    await waitForAllSaved(page, { timeout: 30_000 })
  })
  await office.context.close()
  const points = Object.values((await programme()).getMap('measure_points').toJSON())
    .filter((p) => p.measure_id === 'm-deescalation-training')
  assert.equal(points.length, 15)
  assert.ok(points.some((p) => p.period === '2030-01-01' && p.value === '81'))
  assert.equal((await programme()).getMap('measures').toJSON()['m-deescalation-training'].rebase, '2030-01-01')
  const exit = (await programme()).getMap('exit_criteria').toJSON()['x-finance']
  assert.equal(exit.status, 'met')
})
