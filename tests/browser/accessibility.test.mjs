// (d) Accessibility: axe-core (WCAG 2.0/2.1 A and AA, 2.2 AA) finds nothing
// serious or critical on the overview, the action list and an action's
// page; the skip link is the first Tab stop and moves focus to the main
// content. Also saves screenshots of those pages to
// test-artifacts/screenshots/.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import {
  PlaitServer, launchBrowser, newPage, actionLinks, waitForActionDetail,
  waitForAllActions, waitForAllSaved, waitForOverviewTotal, screenshot, onFailure, repoRoot
} from './support.mjs'

const AXE_SOURCE = fs.readFileSync(path.join(repoRoot, 'tools/node_modules/axe-core/axe.min.js'), 'utf8')
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']

let server
let browser
let context
let page
let actionLink

before(async () => {
  server = await PlaitServer.start('accessibility')
  browser = await launchBrowser()
  ;({ context, page } = await newPage(browser))
  actionLink = (await actionLinks(page, server.url))[1]
})

after(async () => {
  await context?.close()
  await browser?.close()
  await server?.kill()
})

/// Runs axe on the page as it is; returns the violations, and prints each
/// (id, impact, help, target nodes and what to fix).
async function axe (label) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ content: AXE_SOURCE })
  }
  const results = await page.evaluate((tags) => window.axe.run(document, { runOnly: tags }), AXE_TAGS)
  const report = results.violations.map((v) =>
    `${label}: ${v.id} (${v.impact}): ${v.help} <${v.helpUrl}>\n` +
    v.nodes.map((n) => `    ${n.target.join(' ')}\n      ${n.failureSummary.replace(/\n/g, '\n      ')}`).join('\n'))
  if (report.length) console.log(`axe violations on ${label}:\n${report.join('\n')}`)
  assert.ok(results.passes.length > 0, `axe ran its rules on ${label}`)
  return { violations: results.violations, report }
}

function assertNothingSerious (label, { violations, report }) {
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  assert.deepEqual(
    serious.map((v) => `${v.id} (${v.impact}) on ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `serious or critical axe violations on ${label}:\n${report.join('\n')}`
  )
}

test('the overview has no serious or critical axe violations', async () => {
  await onFailure('a11y-overview', { pages: { page }, server }, async () => {
    await page.goto(server.url + '/')
    await waitForOverviewTotal(page)
    await waitForAllSaved(page)
    assert.equal(await page.title(), 'Programme overview – Plait')
    await screenshot(page, 'overview')
    assertNothingSerious('the overview', await axe('the overview'))
  })
})

test('the action list has no serious or critical axe violations', async () => {
  await onFailure('a11y-actions', { pages: { page }, server }, async () => {
    await page.goto(server.url + '/actions')
    await waitForAllActions(page)
    await waitForAllSaved(page)
    assert.equal(await page.title(), 'Actions – Plait')
    await screenshot(page, 'actions')
    assertNothingSerious('the action list', await axe('the action list'))
  })
})

test('an action\'s page has no serious or critical axe violations, with and without lifecycle buttons', async () => {
  await onFailure('a11y-action', { pages: { page }, server }, async () => {
    await page.goto(server.url + actionLink)
    await waitForActionDetail(page)
    await waitForAllSaved(page)
    assert.equal(await page.title(), 'Action – Plait')
    await screenshot(page, 'action')
    assertNothingSerious('an action\'s page', await axe('an action\'s page'))

    // Acting as the action's owner, the lifecycle form appears (a note
    // field and "Move to …" buttons): check that too.
    const owner = await page.inputValue('#owner')
    assert.ok(owner, 'the demo action has an owner')
    await page.selectOption('#acting-role', 'contributor')
    await page.locator('#acting-as').fill(owner)
    await page.locator('#acting-as').blur()
    await page.locator('.plait-buttons button').first().waitFor()
    await screenshot(page, 'action-as-owner')
    assertNothingSerious('an action\'s page, as its owner', await axe('an action\'s page, as its owner'))
  })
})

test('Tab from the top reaches the skip link first, and Enter moves focus to the main content', async () => {
  await onFailure('a11y-skip-link', { pages: { page }, server }, async () => {
    for (const [label, url, ready] of [
      ['the overview', '/', () => waitForOverviewTotal(page)],
      ['the action list', '/actions', () => waitForAllActions(page)],
      ['an action\'s page', actionLink, () => waitForActionDetail(page)]
    ]) {
      await page.goto(server.url + url)
      await ready()
      // Start from the top of the document, nothing focused.
      await page.evaluate(() => document.activeElement?.blur())
      await page.keyboard.press('Tab')
      const first = await page.evaluate(() => {
        const el = document.activeElement
        return { tag: el?.tagName, text: el?.textContent.trim(), href: el?.getAttribute('href'), visible: el ? el.getBoundingClientRect().width > 1 && el.getBoundingClientRect().height > 1 : false }
      })
      assert.deepEqual(
        { tag: first.tag, text: first.text, href: first.href },
        { tag: 'A', text: 'Skip to main content', href: '#main' },
        `the first Tab stop on ${label}`
      )
      assert.ok(first.visible, `the skip link is visible when focused on ${label}`)
      await page.keyboard.press('Enter')
      await page.waitForFunction(() => document.activeElement?.id === 'main', null, { timeout: 5_000 })
        .catch(async () => {
          const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120))
          throw new Error(`Enter on the skip link did not move focus to #main on ${label}; focus is on ${focused}`)
        })
      // The next Tab stop is inside the main content, past the header.
      await page.keyboard.press('Tab')
      const inMain = await page.evaluate(() => Boolean(document.activeElement?.closest('#main')))
      assert.ok(inMain, `after the skip link, Tab moves into the main content on ${label}`)
    }
    assert.deepEqual(page.crashes, [], 'no uncaught errors or panics')
  })
})
