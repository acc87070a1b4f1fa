// Phase 2's measures (issue 17), in headless Chromium against the real
// server and the demo: the restraint measure is drawn as a Making Data
// Count SPC chart (one dot per month, the variation and assurance icons in
// words, as `plait_shared::spc` computes them); the programme office adds a
// month's value and the chart and the server have it; a board member reads
// the chart and has no forms; the page fits 320 px; axe.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, apiSignIn, fetchDoc, onFailure, screenshot,
  eventually, waitForAllSaved, runAxe, assertNothingSerious,
  focusMovesTo
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('measures')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

const axe = async (page, label) => assertNothingSerious(label, await runAxe(page, label))

const restraintPoints = async () => {
  const { token } = await apiSignIn(server, 'board')
  const programme = await fetchDoc(server, token, 'demo')
  return Object.values(programme.getMap('measure_points').toJSON()).filter((p) => p.measure_id === 'm-restraint')
}

test('a measure\'s SPC chart, a value added by the office, read by a board member', async () => {
  const before = await restraintPoints()
  assert.equal(before.length, 18, 'the demo has 18 months')
  const office = await newPage(browser)
  await onFailure('measures-office', { pages: { office: office.page }, server }, async () => {
    const page = office.page
    await signIn(page, 'programme.office', { url: server.url })
    await page.goto(`${server.url}/p/demo/measures`)
    const card = page.locator('[data-testid=measure]', { hasText: 'Restraints per 1,000' })
    await card.waitFor({ timeout: 30_000 })
    await eventually(async () => (await card.locator('svg circle').count()) === 18, { message: '18 dots' })
    // Falling restraint, lower is better: special cause of an improving
    // nature (a run below the mean, a falling trend, beyond the limit).
    assert.match(await card.locator('[data-testid=measure-icons]').innerText(), /improving nature: lower values/)
    assert.match(await card.locator('svg desc').textContent(), /18 values from/)
    await axe(page, 'the measures page')
    await screenshot(page, 'measures')
    // A month's value.
    const now = new Date()
    await page.locator('#value-measure').selectOption('m-restraint')
    await page.locator('#value-period-day').fill('1')
    await page.locator('#value-period-month').fill(String(now.getUTCMonth() + 1))
    await page.locator('#value-period-year').fill(String(now.getUTCFullYear()))
    await page.locator('#value-value').fill('9.1')
    await page.getByRole('button', { name: 'Add the value', exact: true }).click()
    await eventually(async () => (await card.locator('svg circle').count()) === 19, { message: '19 dots' })
    // A value that is not a number: an error, focus on the summary.
    await page.locator('#value-value').fill('nine')
    await page.getByRole('button', { name: 'Add the value', exact: true }).click()
    await page.locator('#value-errors').getByText('Enter the value as a number').waitFor()
    await focusMovesTo(page, 'value-errors')
    await waitForAllSaved(page, { timeout: 30_000 })
  })
  await office.context.close()
  await eventually(async () => (await restraintPoints()).length === 19, { message: 'the value on the server' })
  assert.ok((await restraintPoints()).some((p) => p.value === '9.1'))

  const viewer = await newPage(browser, { viewport: { width: 320, height: 640 } })
  await onFailure('measures-viewer', { pages: { viewer: viewer.page }, server }, async () => {
    const page = viewer.page
    await signIn(page, 'board', { url: server.url })
    await page.goto(`${server.url}/p/demo/measures`)
    await eventually(async () => (await page.locator('[data-testid=measure]', { hasText: 'Restraints per 1,000' }).locator('svg circle').count()) === 19,
      { timeout: 30_000, message: 'the board member sees 19 dots' })
    assert.equal(await page.locator('#value-value').count(), 0, 'no forms for a viewer')
    assert.equal(await page.locator('#measure-name').count(), 0)
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    assert.ok(sideways <= 0, `no sideways scroll at 320 px (${sideways} px)`)
  })
  await viewer.context.close()
})
