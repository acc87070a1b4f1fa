// The board paper (issue 16), in headless Chromium against the real server
// and the demo: the programme office drafts the executive summary from the
// figures, saves and issues the paper for the Trust Board's meeting; it
// prints to PDF (read back with pdftotext) within six A4 pages, with the
// paper's meeting and page numbers on every page and no link addresses;
// its requirements table says what `shared` computes (the server's report
// JSON); once issued it stays as tabled when the data moves on (a new
// progress update on its top exception), with "as it is now" a click away;
// issued again, each version shows its own moment.
// axe on the page.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {
  PlaitServer, launchBrowser, newPage, signIn, apiSignIn, fetchDoc, demoState, onFailure, screenshot,
  eventually, waitForAllSaved, waitForActionDetail, runAxe, assertNothingSerious
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('paper')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

/// The demo as the server holds it, with the board report's figures.
async function serverState () {
  const state = await demoState(server)
  const report = await (await fetch(`${server.url}/api/programmes/demo/report?format=json`, {
    headers: { authorization: `Bearer ${state.token}` }
  })).json()
  return { ...state, report }
}

/// The rows of the paper's first table (the requirements met).
const requirementRows = (page) => page.$$eval('.plait-paper__table', (tables) =>
  [...tables[0].querySelectorAll('tbody tr')].map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent.trim())))

test('the board paper prints within six pages, as shared counts, and stays as issued', async () => {
  const state = await serverState()
  const [meetingId] = Object.entries(state.meetings).find(([, m]) => m.forum_id === 'board')
  const { context, page } = await newPage(browser)
  await onFailure('paper', { pages: { page }, server }, async () => {
    await signIn(page, 'programme.office', { url: server.url })
    await page.goto(`${server.url}/p/demo/papers/${meetingId}`)
    await page.locator('.plait-paper__table').first().waitFor({ timeout: 30_000 })
    await everyPlan(page, state)
    const must = (await requirementRows(page)).find((r) => r[0] === 'Must Do')
    const counts = state.report.metrics.requirements.must_do
    assert.deepEqual(must.slice(1), [String(counts.total), String(counts.met), String(counts.embedded)], 'shared\'s numbers')

    await page.getByRole('button', { name: 'Draft the summary from the figures' }).click()
    assert.match(await page.locator('#paper-summary').inputValue(), new RegExp(`${counts.met} of ${counts.total} Must Dos met`))
    await page.getByRole('button', { name: 'Save the paper' }).click()
    await page.getByRole('button', { name: 'Issue the paper to the meeting' }).click()
    await page.getByRole('button', { name: /^Issue version \d+$/ }).click()
    await page.locator('[data-testid=paper-status]').filter({ hasText: 'version 1' }).waitFor()
    await waitForAllSaved(page, { timeout: 30_000 })
    await axe(page, 'the board paper')
    await screenshot(page, 'board-paper')

    // Printed to PDF, as the browser prints it.
    const pdf = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plait-paper-')), 'paper.pdf')
    await page.pdf({ path: pdf, preferCSSPageSize: true, printBackground: true })
    const text = execFileSync('pdftotext', ['-layout', pdf, '-']).toString()
    const pages = text.split('\f').filter((p) => p.trim() !== '')
    // The main paper is the pages before appendix A (which starts a page).
    const appendixAt = pages.findIndex((p) => /A1\. Every action overdue/.test(p))
    assert.ok(appendixAt > 0, 'appendix A is printed after the paper')
    console.log(`# the board paper printed to ${appendixAt} A4 pages, with appendix A ${pages.length} in all`)
    assert.ok(appendixAt <= 6, `the main paper in at most six pages, not ${appendixAt}`)
    pages.forEach((p, i) => {
      assert.match(p, new RegExp(`Page ${i + 1} of ${pages.length}`), `page ${i + 1} is numbered`)
      assert.match(p, /Board paper: Trust Board,/, `page ${i + 1} names the paper's meeting`)
    })
    assert.doesNotMatch(text, /Link:|\/p\/demo|https?:\/\//, 'no link addresses')
    assert.match(text, /Executive summary/)
    assert.match(text, /The top exceptions/)
    // Appendix A lists every exception the paper counts, as shared does.
    const counted = Number((await page.locator('.plait-paper').innerText()).match(/(\d+) actions are overdue or off track; the \d+ most overdue:/)[1])
    assert.match(text, new RegExp(`A1\\. Every action overdue or off track \\(${counted}\\)`))
    assert.equal(await page.locator('.plait-paper__appendix table').first().locator('tbody tr').count(), counted)
    // Printed without appendix A when asked.
    await page.getByLabel('Print appendix A with the paper').uncheck()
    const bare = path.join(path.dirname(pdf), 'bare.pdf')
    await page.pdf({ path: bare, preferCSSPageSize: true, printBackground: true })
    const bareText = execFileSync('pdftotext', ['-layout', bare, '-']).toString()
    assert.doesNotMatch(bareText, /A1\. Every action overdue/)
    assert.equal(bareText.split('\f').filter((p) => p.trim() !== '').length, appendixAt)
    await page.getByLabel('Print appendix A with the paper').check()

    // The data moves on: a progress update on the paper's top exception.
    const top = await page.$$eval('.plait-paper__table', (tables) =>
      tables[4].querySelector('tbody tr td')?.textContent.trim())
    const reference = top.split(' – ')[0]
    const action = state.actions.find((a) => a.json.ref === reference)
    await page.goto(`${server.url}/p/demo/actions/${action.plan}/${action.id}`)
    await waitForActionDetail(page)
    await page.locator('#new-update').fill('Contractor booked for Monday')
    await page.getByRole('button', { name: 'Add update' }).click()
    await waitForAllSaved(page, { timeout: 30_000 })
    // "All changes saved" can be the line from before the update was
    // written: wait for the server's copy before leaving the page.
    await eventually(async () => {
      const { token } = await apiSignIn(server, 'programme.office')
      const doc = await fetchDoc(server, token, action.plan)
      return JSON.stringify(doc.getMap('actions').get(action.id).toJSON()).includes('Contractor booked for Monday')
    }, { timeout: 20_000, message: 'the progress update on the server' })
    await page.goto(`${server.url}/p/demo/papers/${meetingId}`)
    await page.locator('.plait-paper__table').first().waitFor({ timeout: 30_000 })
    await everyPlan(page, state)
    assert.doesNotMatch(await page.locator('.plait-paper').innerText(), /Contractor booked for Monday/, 'as tabled')
    await page.getByRole('button', { name: 'See it as it is now' }).click()
    await eventually(async () => /Contractor booked for Monday/.test(await page.locator('.plait-paper').innerText()),
      { message: 'as it is now' }).catch(async (e) => {
      const row = await page.$$eval('.plait-paper__table', (tables) => tables[4].querySelector('tbody tr')?.textContent)
      throw new Error(`${e.message}; the top exception reads ${row}; it was ${top}`)
    })
    // Issued again (a correction): version 2 has the update; version 1,
    // chosen from the list, still does not.
    await page.getByRole('button', { name: 'See it as it was issued' }).click()
    await page.getByRole('button', { name: 'Issue the paper to the meeting' }).click()
    await page.getByRole('button', { name: /^Issue version \d+$/ }).click()
    await page.locator('[data-testid=paper-status]').filter({ hasText: 'version 2' }).waitFor()
    await eventually(async () => /Contractor booked for Monday/.test(await page.locator('.plait-paper').innerText()),
      { message: 'version 2 as issued' })
    await page.locator('#paper-version').selectOption('0')
    await eventually(async () => !/Contractor booked for Monday/.test(await page.locator('.plait-paper').innerText()),
      { message: 'version 1 as it was issued' })
    await waitForAllSaved(page, { timeout: 30_000 })
  })
  await context.close()
})

const axe = async (page, label) => assertNothingSerious(label, await runAxe(page, label))

/// The plans arrive one by one: waits until the paper counts every Must
/// Do, and a moment more for the last plan's actions.
async function everyPlan (page, state) {
  await eventually(async () => (await page.locator('[data-testid=paper-status]').count()) === 1 &&
    (await requirementRows(page)).some((r) => r[0] === 'Must Do' && r[1] === String(state.report.metrics.requirements.must_do.total)),
  { timeout: 30_000, message: 'the requirements table counting every Must Do' })
  await waitForAllSaved(page, { timeout: 30_000 })
}
