// The finding first (issue 15), in the browser against the real server: an
// action's page opens with the CQC finding it answers; the finding's page
// lists every action answering it and whether it is met; the warning
// notice's register counts its failings met; the overview and the board
// report lead with the requirements met ("9 / 108 Must Dos met", the
// demo's own count). axe on the new pages.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, onFailure, screenshot, eventually,
  waitForAllSaved, waitForActionDetail, actionLinks, runAxe, assertNothingSerious, scrollsSideways,
  everyDemoPage
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('findings')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

test('an action opens with its finding; the finding lists its actions; the register and headlines count what is met', async () => {
  const { context, page } = await newPage(browser)
  await onFailure('findings', { pages: { page }, server }, async () => {
    await signIn(page, 'compliance', { url: server.url })
    // The headlines: requirements met, the demo's own (9 of 108 Must Dos).
    await eventually(async () => (await page.locator('[data-count=must_do-met]').innerText().catch(() => '')) === '9 / 108',
      { timeout: 30_000, message: 'Must Dos met on the overview' })
    assert.equal(await page.locator('[data-count=should_do-met]').innerText(), '0 / 60')

    // An action's page: the finding card first.
    const [link] = await actionLinks(page, server.url)
    await page.goto(server.url + link)
    await waitForActionDetail(page)
    const card = page.locator('[data-testid=finding-card]').first()
    await card.waitFor()
    const cardText = await card.innerText()
    assert.match(cardText, /Must Do|Should Do|Warning notice/)
    assert.match(cardText, /Regulation \d+/)
    await waitForAllSaved(page, { timeout: 30_000 })
    assertNothingSerious('an action page with its finding', await runAxe(page, 'an action page with its finding'))

    // The finding's page: its actions, and whether it is met.
    await card.getByRole('link', { name: 'All the actions answering this finding' }).click()
    await page.locator('[data-testid=finding-actions]').waitFor()
    assert.ok(await page.locator('[data-testid=finding-actions] li').count() >= 1)
    assert.match(await page.locator('[data-testid=finding-progress]').innerText(), /Met|Not met yet|No actions yet/)
    await screenshot(page, 'finding')
    assertNothingSerious('a finding\'s page', await runAxe(page, 'a finding\'s page'))

    // The warning notice's register: its four failings.
    await page.goto(server.url + '/p/demo/warning-notice')
    // The plans load one by one: wait for all four failings.
    await eventually(async () => /^\d of 4 failings met$/.test(
      await page.locator('[data-testid=warning-notice-met]').innerText().catch(() => '')),
    { timeout: 30_000, message: 'the register counting the four failings' })
    assert.equal(await page.locator('[data-testid=finding-card]').count(), 4)
    await screenshot(page, 'warning-notice')
    assertNothingSerious('the warning notice register', await runAxe(page, 'the warning notice register'))
  })
  await context.close()
})

test('the action list shows 50 at a time, keeps its filters in the address, and finds them again on Back', async () => {
  const { context, page } = await newPage(browser)
  await onFailure('action-list-pages', { pages: { page }, server }, async () => {
    await signIn(page, 'chief.nurse', { url: server.url + '/p/demo/actions' })
    await eventually(async () => (await page.locator('[data-testid=action-count]').innerText()).trim() === '338 of 338 actions',
      { timeout: 30_000, message: 'every action counted' })
    assert.equal(await page.locator('table.plait-actions tbody tr').count(), 50)
    await page.getByRole('link', { name: /Next/ }).click()
    await eventually(async () => new URL(page.url()).searchParams.get('page') === '2', { message: 'page 2 in the address' })
    assert.match(await page.locator('main').innerText(), /Showing 51 to 100/)
    // A filter goes back to the first page and into the address.
    await page.locator('#f-status').selectOption('in_progress')
    await eventually(async () => new URL(page.url()).searchParams.get('status') === 'in_progress', { message: 'the filter in the address' })
    assert.equal(new URL(page.url()).searchParams.get('page'), null)
    // Leadership columns: the finding and the executive lead.
    const firstRow = await page.locator('table.plait-actions tbody tr').first().innerText()
    assert.match(firstRow, /(Must Do|Should Do|Warning notice).*\n?/)
    // Open an action, come back: the filter is as it was.
    await page.locator('table.plait-actions tbody a').first().click()
    await waitForActionDetail(page)
    await page.goBack()
    await eventually(async () => (await page.locator('#f-status').inputValue().catch(() => '')) === 'in_progress',
      { message: 'the filter kept on Back' })
    assertNothingSerious('the action list, filtered', await runAxe(page, 'the action list, filtered'))
  })
  await context.close()
})

test('no page scrolls sideways on a phone (320 and 390 px), and its controls are 44 px touch targets', async () => {
  const { context, page } = await newPage(browser, { viewport: { width: 320, height: 800 } })
  await onFailure('phone-widths', { pages: { page }, server }, async () => {
    // Nothing is fetched from another origin (fonts included: the NHS.UK
    // font is not ours to serve, so the stack's Arial is used from the
    // first paint and nothing reflows when a font arrives).
    const host = new URL(server.url).host
    const foreign = []
    page.on('request', (r) => {
      const url = new URL(r.url())
      if (/^https?:$/.test(url.protocol) && url.host !== host) foreign.push(r.url())
    })
    await signIn(page, 'programme.office', { url: server.url + '/p/demo/' })
    await waitForAllSaved(page, { timeout: 30_000 })
    const pages = [...await everyDemoPage(server), '/']
    for (const width of [320, 390]) {
      await page.setViewportSize({ width, height: 800 })
      for (const path of pages) {
        await page.goto(server.url + path)
        await page.locator('main h1').first().waitFor({ timeout: 30_000 })
        // Give the plans a moment to fill the page.
        await page.waitForTimeout(500)
        const wide = await page.evaluate(() => [...document.querySelectorAll('main *')]
          .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
            !el.closest('.plait-scroll'))
          .slice(0, 3)
          .map((el) => `${el.tagName}.${el.className}`))
        assert.equal(await scrollsSideways(page), false, `${path} at ${width} px scrolls sideways: ${wide.join(', ')}`)
        // Controls a finger must hit (text links inside sentences and
        // table cells are left out, as WCAG's target-size rule does).
        const small = await page.evaluate(() => [...document.querySelectorAll(
          'main button, main select, main textarea, main input:not([type=hidden]), header a, header button, .nhsuk-pagination__link')]
          .filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
          .map((el) => ({ el, box: el.getBoundingClientRect() }))
          .filter(({ box }) => box.height < 43.5 || box.width < 43.5)
          .slice(0, 4)
          .map(({ el, box }) => `${el.tagName}#${el.id}.${el.className} ${Math.round(box.width)}×${Math.round(box.height)}`))
        assert.deepEqual(small, [], `${path} at ${width} px has controls under 44 px`)
      }
    }
    assert.deepEqual(foreign, [], 'nothing requested from another origin')
    const fonts = await page.evaluate(() => [...document.fonts].map((f) => `${f.family} ${f.status}`))
    assert.deepEqual(fonts, [], 'no web font to wait for: the font stack falls back to Arial')
  })
  await context.close()
})

// On a phone the action page's details form is several screens long: what
// an owner on a ward does there (move it on, add a progress update, add
// evidence) comes before it, and the list of sections is on the first
// screen, each one tap away.
test('on a phone, an action\'s owner reaches its lifecycle, progress update and evidence without scrolling past the details form', async () => {
  const { context, page } = await newPage(browser, { viewport: { width: 390, height: 844 } })
  await onFailure('phone-action', { pages: { page }, server }, async () => {
    await signIn(page, 'd.hughes', { url: server.url })
    const [link] = await actionLinks(page, server.url, { owner: 'D. Hughes' })
    await page.goto(server.url + link)
    await waitForActionDetail(page)
    await page.locator('#evidence').waitFor({ timeout: 30_000 })
    const top = (selector) => page.locator(selector).first().evaluate((el) => el.getBoundingClientRect().top + window.scrollY)
    const sections = page.getByRole('navigation', { name: 'Sections of this page' })
    const box = await sections.boundingBox()
    // Below the finding it answers and the title (a long title and its
    // finding take most of two screens at this width).
    assert.ok(box && box.y + box.height <= 844 * 2, `the sections list is near the top (ends at ${box && box.y + box.height} px)`)
    const details = await top('#details')
    for (const selector of ['#lifecycle', '#new-update', '#evidence']) {
      assert.ok(await top(selector) < details, `${selector} comes before the details form`)
    }
    // One tap on "Progress updates" brings its form on screen.
    await sections.getByRole('link', { name: 'Progress updates' }).click()
    await eventually(async () => {
      const form = await page.locator('#new-update').boundingBox()
      return form && form.y >= 0 && form.y < 844
    }, { message: 'the progress update form on screen after one tap' })
    assert.equal(await scrollsSideways(page), false)
  })
  await context.close()
})
