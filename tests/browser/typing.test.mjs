// Keys pressed in quick succession in a collaborative text (Title,
// Description, Closure criteria) must each be stored once, in order,
// wherever the caret is.
//
// A regression test. Each `input` event used to be turned into a splice
// against the text as last rendered, which lags the document until the
// edit is stored in IndexedDB; a key pressed before then was diffed against
// a stale text and the previous keys were inserted again, and the caret
// jumped to the end ("Hello world" + "abcdefgh" typed with no delay gave
// "Hello worldabcdefabcdeabcdabcabaghg", and with 30 ms between keys on a
// CPU throttled 4× "Hello worldabcdcefgh"). Fixed in d5c042a (splices
// against the document's current text). This test types with no delay on a
// CPU throttled 4× (a low-end ward tablet), which failed every time before.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, actionLinks, waitForActionDetail,
  waitForAllSaved, eventually, onFailure
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('typing')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

test('keys typed in quick succession into a shared text are stored once each, in order', async () => {
  const { context, page } = await newPage(browser)
  const field = page.locator('#description')
  await onFailure('typing', { pages: { page }, server }, async () => {
    // The executive lead may edit any action's texts.
    await signIn(page, 'chief.nurse', { url: server.url })
    const link = (await actionLinks(page, server.url))[5]
    await page.goto(server.url + link)
    await waitForActionDetail(page)
    await waitForAllSaved(page)
    // A low-end ward tablet: the CPU four times slower.
    const cdp = await context.newCDPSession(page)
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 })
    const results = []
    for (const [where, key, expected] of [
      ['at the end', 'Control+End', 'Hello worldabcdefgh'],
      ['at the start', 'Control+Home', 'abcdefghHello world']
    ]) {
      await field.fill('Hello world')
      await waitForAllSaved(page)
      await field.click()
      await page.keyboard.press(key)
      await page.keyboard.type('abcdefgh')
      // Settled: stored on the server, and the field no longer changing.
      await waitForAllSaved(page)
      const settled = await eventually(async () => {
        const a = await field.inputValue()
        await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
        return a === (await field.inputValue()) && a
      }, { message: 'the field settling' })
      results.push({ where, expected, got: settled })
    }
    assert.deepEqual(results.map((r) => r.got), results.map((r) => r.expected),
      `typed "abcdefgh" ${results.map((r) => `${r.where}: got ${JSON.stringify(r.got)}`).join('; ')}`)
    // The server holds exactly what was typed.
    const other = await newPage(browser)
    try {
      await signIn(other.page, 'board', { url: server.url + link })
      await waitForActionDetail(other.page)
      await waitForAllSaved(other.page)
      // A board member reads the details as a summary.
      await eventually(async () => (await other.page.locator('[data-testid=details-summary]').innerText()).includes('abcdefghHello world'),
        { message: 'the description as typed, from the server' })
    } finally {
      await other.context.close()
    }
  })
  await context.close()
})
