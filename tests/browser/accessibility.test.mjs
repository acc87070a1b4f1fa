// (d) Accessibility: axe-core (WCAG 2.0/2.1 A and AA, 2.2 AA) finds no
// violation on the sign-in page (empty, and with its error summary), the
// overview, the action list and an action's page (its owner's, with
// lifecycle buttons, and someone else's, as a read-only summary); the error summary takes
// focus and its links move focus to their fields; the skip link is the first
// Tab stop and moves focus to the main content. Also saves screenshots of
// those pages to test-artifacts/screenshots/.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, actionLinks, waitForActionDetail,
  waitForAllActions, waitForAllSaved, waitForOverviewTotal, screenshot, onFailure,
  runAxe, assertNothingSerious
} from './support.mjs'

let server
let browser
let context
let page

before(async () => {
  server = await PlaitServer.start('accessibility')
  browser = await launchBrowser()
  ;({ context, page } = await newPage(browser))
})

after(async () => {
  await context?.close()
  await browser?.close()
  await server?.kill()
})

/// axe on the page as it is (support.mjs's `runAxe`).
const axe = (label) => runAxe(page, label)

/// The id of the focused element.
function focusedId () {
  return page.evaluate(() => document.activeElement?.id)
}

test('the sign-in page has no axe violations, with and without its error summary; errors take focus', async () => {
  await onFailure('a11y-sign-in', { pages: { page }, server }, async () => {
    await page.goto(server.url + '/')
    await page.locator('#username').waitFor()
    assert.equal(await page.title(), 'Sign in – Plait')
    assert.equal(await page.getAttribute('#username', 'autocomplete'), 'username')
    assert.equal(await page.getAttribute('#password', 'autocomplete'), 'current-password')
    assert.equal(await page.locator('label[for=username]').innerText(), 'User name')
    assert.equal(await page.locator('label[for=password]').innerText(), 'Password')
    await screenshot(page, 'sign-in')
    assertNothingSerious('the sign-in page', await axe('the sign-in page'))

    // Nothing typed: the error summary takes focus and links to both fields.
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.locator('#error-summary').waitFor()
    await page.waitForFunction(() => document.activeElement?.id === 'error-summary')
    const links = await page.$$eval('#error-summary a', (as) => as.map((a) => [a.getAttribute('href'), a.textContent]))
    assert.deepEqual(links, [['#username', 'Enter your user name'], ['#password', 'Enter your password']])
    assert.equal(await page.getAttribute('#username', 'aria-describedby'), 'username-error')
    await page.locator('#error-summary a[href="#password"]').click()
    await page.waitForFunction(() => document.activeElement?.id === 'password')
    await screenshot(page, 'sign-in-errors')
    assertNothingSerious('the sign-in page with errors', await axe('the sign-in page with errors'))

    // A wrong password: said on the password field; the user name is kept.
    await page.locator('#username').fill('d.hughes')
    await page.locator('#password').fill('not-the-password')
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.waitForFunction(() => /not right/.test(document.querySelector('#error-summary')?.textContent ?? ''))
    assert.equal(await focusedId(), 'error-summary')
    assert.equal(await page.inputValue('#username'), 'd.hughes')
    assert.match(await page.locator('#password-error').innerText(), /The user name or password is not right/)
    assertNothingSerious('the sign-in page after a wrong password', await axe('the sign-in page after a wrong password'))

    await signIn(page, 'd.hughes')
    await page.waitForFunction(() => document.activeElement?.id === 'main')
    assert.deepEqual(page.crashes, [], 'no uncaught errors or panics')
  })
})

test('the overview has no axe violations', async () => {
  await onFailure('a11y-overview', { pages: { page }, server }, async () => {
    await page.goto(server.url + '/')
    await waitForOverviewTotal(page)
    await waitForAllSaved(page)
    assert.equal(await page.title(), 'Programme overview – Plait')
    await screenshot(page, 'overview')
    assertNothingSerious('the overview', await axe('the overview'))
  })
})

test('my work, the board report and the import page have no axe violations', async () => {
  await onFailure('a11y-governance-pages', { pages: { page }, server }, async () => {
    for (const [path, title] of [['/my-work', 'My work'], ['/report', 'Board report'], ['/import', 'Import an action plan']]) {
      await page.goto(server.url + path)
      await waitForAllSaved(page)
      if (path === '/report') {
        await page.waitForFunction((n) => document.querySelector('[data-count=total]')?.textContent === n, '338', { polling: 50 })
      }
      assert.equal(await page.title(), `${title} – Plait`)
      await screenshot(page, path.slice(1))
      assertNothingSerious(title, await axe(title))
    }
  })
})

test('the action list has no axe violations', async () => {
  await onFailure('a11y-actions', { pages: { page }, server }, async () => {
    await page.goto(server.url + '/actions')
    await waitForAllActions(page)
    await waitForAllSaved(page)
    assert.equal(await page.title(), 'Actions – Plait')
    await screenshot(page, 'actions')
    assertNothingSerious('the action list', await axe('the action list'))
  })
})

test('an action\'s page has no axe violations, read-only and as its owner with lifecycle buttons', async () => {
  await onFailure('a11y-action', { pages: { page }, server }, async () => {
    // Someone else's action: D. Hughes may change little of it.
    const all = await actionLinks(page, server.url)
    const owned = await actionLinks(page, server.url, { owner: 'D. Hughes' })
    const other = all.find((link) => !owned.includes(link))
    await page.goto(server.url + other)
    await waitForActionDetail(page)
    await waitForAllSaved(page)
    assert.equal(await page.title(), 'Action – Plait')
    // Nothing of it is theirs to change: a read-only summary, not a
    // greyed form.
    await page.locator('[data-testid=details-summary]').waitFor()
    assert.equal(await page.locator('#owner').count(), 0, 'no owner field to change')
    assert.equal(await page.locator('#description').count(), 0, 'nor a description')
    await screenshot(page, 'action')
    assertNothingSerious('an action\'s page', await axe('an action\'s page'))

    // Their own action, in a status they can move on: the lifecycle form (a
    // note field and "Move to …" buttons) appears.
    let withButtons = null
    for (const link of owned) {
      await page.goto(server.url + link)
      await waitForActionDetail(page)
      if (await page.locator('.plait-buttons button').count() > 0) {
        withButtons = link
        break
      }
    }
    assert.ok(withButtons, 'one of D. Hughes\'s actions can be moved on by them')
    assert.ok(!(await page.locator('#description').evaluate((e) => e.readOnly)), 'the owner may edit the description')
    await waitForAllSaved(page)
    await screenshot(page, 'action-as-owner')
    assertNothingSerious('an action\'s page, as its owner', await axe('an action\'s page, as its owner'))
  })
})

test('Tab from the top reaches the skip link first, and Enter moves focus to the main content', async () => {
  await onFailure('a11y-skip-link', { pages: { page }, server }, async () => {
    const actionLink = (await actionLinks(page, server.url))[1]
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
