// Setting up a programme (issue 14), in the browser against the real
// server, as its programme manager: the programme's facts with the NHS.UK
// date input and error summary, a phase, a workstream's executive lead, a
// forum, a finding and an action, each reaching the server's copy; a new
// member invited with a one-time password, who must choose their own
// before anything else; the page passes axe and does not scroll sideways
// at 320 px.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, onFailure, screenshot, eventually,
  waitForAllSaved, apiSignIn, fetchDoc, runAxe, assertNothingSerious, scrollsSideways
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('setup')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

/// The server's copy of the demo programme, as plain JSON.
async function programme () {
  const { token } = await apiSignIn(server, 'programme.office')
  const doc = await fetchDoc(server, token, 'demo')
  return {
    programme: doc.getMap('programme').toJSON(),
    phases: doc.getMap('phases').toJSON(),
    workstreams: doc.getMap('workstreams').toJSON(),
    forums: doc.getMap('forums').toJSON()
  }
}

test('the programme manager sets up the programme: facts, a phase, a lead, a forum, a finding and an action', async () => {
  const { context, page } = await newPage(browser)
  await onFailure('setup', { pages: { page }, server }, async () => {
    await signIn(page, 'programme.office', { url: server.url + '/p/demo/setup' })
    await page.getByRole('heading', { name: 'Set up the programme' }).waitFor()
    await page.locator('#facts-name').waitFor({ timeout: 30_000 })
    await waitForAllSaved(page, { timeout: 30_000 })
    assertNothingSerious('the set-up page', await runAxe(page, 'the set-up page'))

    // The facts: a date that cannot be, then a real one.
    await page.locator('#facts-rating').selectOption('Inadequate')
    await page.locator('#facts-report-day').fill('31')
    await page.locator('#facts-report-month').fill('2')
    await page.locator('#facts-report-year').fill('2026')
    await page.getByRole('button', { name: 'Save the programme\'s details' }).click()
    const summary = page.locator('#facts-errors')
    await summary.waitFor()
    await eventually(async () => (await page.evaluate(() => document.activeElement?.id)) === 'facts-errors',
      { message: 'the error summary takes focus' })
    assert.match(await summary.innerText(), /The date of the inspection report must be a real date/)
    assertNothingSerious('the set-up page with an error', await runAxe(page, 'the set-up page with an error'))
    await page.locator('#facts-report-day').fill('28')
    await page.getByRole('button', { name: 'Save the programme\'s details' }).click()
    await eventually(async () => (await programme()).programme.report_date === '2026-02-28',
      { timeout: 20_000, message: 'the report date on the server' })

    // A phase, with its dates and exit criteria.
    await page.locator('#phase-name').fill('Phase 3: sustain')
    for (const [part, value] of [['day', '1'], ['month', '6'], ['year', '2027']]) {
      await page.locator(`#phase-starts-${part}`).fill(value)
    }
    for (const [part, value] of [['day', '31'], ['month', '3'], ['year', '2028']]) {
      await page.locator(`#phase-ends-${part}`).fill(value)
    }
    await page.locator('#phase-goal').fill('Keep the improvements in place')
    await page.locator('#phase-exit').fill('Two re-audits passed for every Must Do')
    await page.getByRole('button', { name: 'Save the phase' }).click()
    await eventually(async () => Object.values((await programme()).phases)
      .some((p) => p.name === 'Phase 3: sustain' && p.starts === '2027-06-01' && p.exit_criteria === 'Two re-audits passed for every Must Do'),
    { timeout: 20_000, message: 'the phase on the server' })

    // A workstream's executive lead becomes an account.
    const firstLead = page.locator('select[id^=ws-lead-]').first()
    await firstLead.selectOption('medical.director')
    await eventually(async () => Object.values((await programme()).workstreams).some((w) => w.exec_lead === 'medical.director'),
      { timeout: 20_000, message: 'the lead on the server' })

    // A forum.
    await page.locator('#forum-name').fill('Mental Health Act Committee')
    await page.getByRole('button', { name: 'Add the forum' }).click()
    await eventually(async () => Object.values((await programme()).forums).some((f) => f.name === 'Mental Health Act Committee'),
      { timeout: 20_000, message: 'the forum on the server' })

    // The assurance rules: an out-of-bounds number is refused with the
    // reason; then endorsement off and re-audits at 2, 4 and 6 months.
    await page.locator('#rules-count').fill('9')
    await page.getByRole('button', { name: 'Save the assurance rules' }).click()
    await page.locator('#rules-errors').waitFor()
    assert.match(await page.locator('#rules-errors').innerText(), /between 1 and 6 re-audits/)
    await page.locator('#rules-count').fill('3')
    await page.locator('#rules-spacing').fill('2')
    await page.locator('#rules-endorsement').selectOption('off')
    await page.getByRole('button', { name: 'Save the assurance rules' }).click()
    await eventually(async () => {
      const p = (await programme()).programme
      return p.endorsement === 'false' && p.reaudit_count === '3' && p.reaudit_spacing_months === '2'
    }, { timeout: 20_000, message: 'the rules on the server' })

    // A finding (with CQC's deadline), then an action answering it.
    const plan = 'demo_governance-and-leadership'
    await page.locator('#finding-plan').selectOption(plan)
    await page.locator('#finding-ref').fill('SD200')
    await page.locator('#finding-kind').selectOption('should_do')
    await page.locator('#finding-text').fill('The trust should publish its board papers on time')
    await page.locator('#finding-regulations').fill('Reg 17(2)(a)')
    for (const [part, value] of [['day', '30'], ['month', '9'], ['year', '2027']]) {
      await page.locator(`#finding-deadline-${part}`).fill(value)
    }
    await page.getByRole('button', { name: 'Add the finding' }).click()
    await page.getByText('Finding SD200 added.').waitFor()
    await page.locator('#action-plan').selectOption(plan)
    await eventually(async () => (await page.locator('#action-finding option').allInnerTexts()).some((t) => t.startsWith('SD200')),
      { message: 'the new finding offered' })
    await page.locator('#action-finding').selectOption('f-sd200')
    await page.locator('#action-ref').fill('SD200.1')
    await page.locator('#action-title').fill('Publish board papers five working days before each meeting')
    await page.locator('#action-owner').selectOption('l.brennan')
    await page.locator('#action-lead').selectOption('chief.nurse')
    await page.getByRole('button', { name: 'Add the action' }).click()
    await page.getByText(/Action SD200\.1 added/).waitFor()
    await waitForAllSaved(page, { timeout: 30_000 })
    const { token } = await apiSignIn(server, 'programme.office')
    const doc = await fetchDoc(server, token, plan)
    const action = doc.getMap('actions').get('a-sd200-1')?.toJSON()
    assert.ok(action, 'the action is on the server')
    assert.equal(action.owner, 'l.brennan')
    assert.deepEqual(action.finding_ids, ['f-sd200'])
    assert.deepEqual(doc.getMap('findings').get('f-sd200').toJSON().regulations, ['17(2)(a)'])
    assert.equal(doc.getMap('findings').get('f-sd200').toJSON().deadline, '2027-09-30')
    await screenshot(page, 'setup')

    // A phone: nothing scrolls sideways.
    await page.setViewportSize({ width: 320, height: 800 })
    assert.equal(await scrollsSideways(page), false, 'the set-up page fits 320 px')
  })
  await context.close()
})

test('an invited member signs in with the one-time password and must choose their own first', async () => {
  const admin = await newPage(browser)
  let password
  await onFailure('setup-invite', { pages: { admin: admin.page }, server }, async () => {
    const page = admin.page
    await signIn(page, 'programme.office', { url: server.url + '/p/demo/setup' })
    await page.locator('#invite-name').waitFor({ timeout: 30_000 })
    await waitForAllSaved(page, { timeout: 30_000 })
    await page.locator('#invite-name').fill('Yusuf Ali')
    await page.locator('#invite-username').fill('yusuf.ali')
    await page.locator('#invite-role').selectOption('validator')
    await page.getByRole('button', { name: 'Invite' }).click()
    const shown = page.locator('[data-testid=one-time-password]')
    await shown.waitFor({ timeout: 20_000 })
    password = (await shown.innerText()).trim()
    assert.ok(password.length >= 12)
    // Listed as a member with the role.
    await eventually(async () => /Yusuf Ali/.test(await page.locator('#setup-members ~ .plait-scroll table').innerText()),
      { message: 'the new member listed' })
  })
  const member = await newPage(browser)
  await onFailure('setup-first-sign-in', { pages: { member: member.page }, server }, async () => {
    const page = member.page
    await signIn(page, 'yusuf.ali', { password, url: server.url })
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor()
    assertNothingSerious('choosing a password', await runAxe(page, 'choosing a password'))
    await page.locator('#current-password').fill(password)
    await page.locator('#new-password').fill('yusuf-chose-this')
    await page.locator('#new-password-again').fill('yusuf-chose-that')
    await page.getByRole('button', { name: 'Save my password' }).click()
    await page.locator('#password-errors').waitFor()
    assert.match(await page.locator('#password-errors').innerText(), /The two new passwords are not the same/)
    await page.locator('#new-password-again').fill('yusuf-chose-this')
    await page.getByRole('button', { name: 'Save my password' }).click()
    // Then the programme, as a validator.
    await page.getByRole('heading', { name: 'Programme overview' }).waitFor({ timeout: 30_000 })
    assert.match(await page.locator('[data-testid=signed-in-as]').innerText(), /Yusuf Ali \(Validator\)/)
    await waitForAllSaved(page, { timeout: 30_000 })
  })
  await apiSignIn(server, 'yusuf.ali', 'yusuf-chose-this')
  // Removed, then added back as someone who has an account, in another role.
  await onFailure('setup-members', { pages: { admin: admin.page }, server }, async () => {
    const page = admin.page
    const { token } = await apiSignIn(server, 'programme.office')
    const roleOf = async (user) => {
      const response = await fetch(`${server.url}/api/programmes/demo/members`, { headers: { authorization: `Bearer ${token}` } })
      return (await response.json()).find((m) => m.username === user)?.role
    }
    await page.getByRole('button', { name: 'Remove Yusuf Ali' }).click()
    await eventually(async () => (await roleOf('yusuf.ali')) === undefined, { message: 'removed on the server' })
    await page.locator('#existing-username').fill('nobody.at.all')
    await page.getByRole('button', { name: 'Add to the programme' }).click()
    await page.locator('#existing-errors').waitFor()
    assert.match(await page.locator('#existing-errors').innerText(), /There is no account nobody\.at\.all/)
    await page.locator('#existing-username').fill('yusuf.ali')
    await page.locator('#existing-role').selectOption('approver')
    await page.getByRole('button', { name: 'Add to the programme' }).click()
    await eventually(async () => (await roleOf('yusuf.ali')) === 'approver', { message: 'added back as an approver' })
  })
  await admin.context.close()
  await member.context.close()
})
