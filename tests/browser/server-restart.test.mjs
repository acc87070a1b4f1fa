// (c) The server goes away under an open page (SIGTERM) and comes back on
// the same port and data: an edit made in between waits, then arrives once
// the client reconnects (with backoff) and is saved. The executive lead
// (chief.nurse) writes the progress updates; a viewer (board) checks them.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, actionLinks, waitForActionDetail,
  waitForAllSaved, waitForStatus, syncStatusText, selectors, eventually,
  onFailure, timed, progressUpdates, anotherBrowserSeesUpdate
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('server-restart')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})


test('an edit made while the server is down arrives when it is back', async () => {
  const { context, page } = await newPage(browser)
  await onFailure('server-restart', { pages: { page }, server }, async () => {
    await signIn(page, 'chief.nurse', { url: server.url })
    const links = await actionLinks(page, server.url)
    const link = links[3]
    await page.goto(server.url + link)
    await waitForActionDetail(page)
    await waitForAllSaved(page)

    // SIGTERM: a graceful shutdown (the sockets close with 1001).
    const exit = await timed('(c) server stopped (SIGTERM)', () => server.stop())
    assert.deepEqual(exit, { code: 0, signal: null }, 'the server exits cleanly on SIGTERM')
    // The browser still thinks it is online; the socket is closed.
    await waitForStatus(page, /^Connecting\b/)

    const text = `Written while the server was down ${Date.now()}`
    await page.locator('#new-update').fill(text)
    await page.getByRole('button', { name: 'Add update' }).click()
    await eventually(async () => (await progressUpdates(page))[0] === text, {
      message: 'the new update listed on the page'
    })
    await waitForStatus(page, /^Connecting · 1 change waiting to sync — oldest just now/)
    assert.equal(await page.locator(selectors.saved).getAttribute('data-saved'), 'false')

    await timed('(c) server restarted (same port and data dir)', () => server.start())
    await timed('(c) restarted until the page says all changes saved', () =>
      waitForAllSaved(page, { timeout: 40_000, label: 'after the restart' }))
    await waitForStatus(page, /^Online · All changes saved/)
    assert.deepEqual(page.crashes, [], 'no uncaught errors or panics')

    // On the server: a fresh browser sees it.
    await anotherBrowserSeesUpdate(browser, server, link, text, 'a fresh browser seeing the update made while the server was down')
  })
  await context.close()
})

/// Resolves when the page has tried HTTP sync (`POST /api/docs/{doc}/sync`)
/// and failed: the client gave up on the WebSocket for now.
function httpSyncFailure (page) {
  return new Promise((resolve) => {
    const listener = (request) => {
      if (request.method() === 'POST' && /\/api\/docs\/[^/]+\/sync$/.test(new URL(request.url()).pathname)) {
        page.off('requestfailed', listener)
        resolve(request.url())
      }
    }
    page.on('requestfailed', listener)
  })
}

test('after a longer outage (the client has fallen back to HTTP sync), an edit still arrives', async () => {
  const { context, page } = await newPage(browser)
  await onFailure('server-restart-http', { pages: { page }, server }, async () => {
    await signIn(page, 'chief.nurse', { url: server.url })
    const links = await actionLinks(page, server.url)
    const link = links[4]
    await page.goto(server.url + link)
    await waitForActionDetail(page)
    await waitForAllSaved(page)

    const fellBack = httpSyncFailure(page)
    await server.stop()
    await timed('(c2) server down until the client tries HTTP sync', () => fellBack)

    const text = `Written during a long outage ${Date.now()}`
    await page.locator('#new-update').fill(text)
    await page.getByRole('button', { name: 'Add update' }).click()
    await waitForStatus(page, /· 1 change waiting to sync — oldest just now/)

    await server.start()
    await timed('(c2) restarted until the page says all changes saved', () =>
      waitForAllSaved(page, { timeout: 40_000, label: 'after the restart' }))
    assert.deepEqual(page.crashes, [], 'no uncaught errors or panics')

    await anotherBrowserSeesUpdate(browser, server, link, text, 'a fresh browser seeing the update made during the outage')
  })
  await context.close()
})

// Regression: with the HTTP fallback failing, the status line said "Online"
// (the engine counted any HTTP-sync state as connected).
test('while the server is down, the status line does not say Online', async () => {
  const { context, page } = await newPage(browser)
  try {
    await signIn(page, 'chief.nurse', { url: server.url })
    await actionLinks(page, server.url)
    await waitForAllSaved(page)
    const fellBack = httpSyncFailure(page)
    await server.stop()
    await waitForStatus(page, /^Connecting\b/)
    await fellBack
    // Every document falls back to HTTP sync within a few seconds of the
    // first: watch the status line for a while after the first failure.
    const saidOnline = await page.waitForFunction(
      (selector) => /^Online\b/.test(document.querySelector(selector)?.textContent ?? ''),
      selectors.syncStatus,
      { timeout: 8_000, polling: 50 }
    ).then(() => true, () => false)
    const status = await syncStatusText(page)
    assert.ok(!saidOnline, `the server is down and every sync request fails, yet the status line says ${JSON.stringify(status)}`)
    assert.equal(await page.locator(selectors.network).getAttribute('data-network'), 'Connecting')
  } finally {
    await context.close()
    if (!server.child) await server.start()
  }
})
