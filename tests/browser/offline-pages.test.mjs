// Issue 18: the client is split into chunks fetched on first use
// (client/src/chunks.rs). After one online visit that opens only My work,
// the service worker holds every chunk, so every page opens with no
// network: none shows "This page could not be loaded", none fetches a file
// the cache lacks, none crashes. A chunk that cannot be fetched is a
// message in the page with "Try again", which works once the link is back.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, everyDemoPage,
  waitForServiceWorker, waitForReleaseCached, onFailure, DEMO_PASSWORD
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('offline-pages')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

test('after one online visit, every page opens with no network', async () => {
  const pages = await everyDemoPage(server)
  const { context, page } = await newPage(browser)
  await onFailure('offline-pages', { pages: { page }, server }, async () => {
    await signIn(page, 'programme.office', { url: server.url + '/p/demo/my-work' })
    await page.getByRole('heading', { level: 1, name: 'My work' }).waitFor({ timeout: 30_000 })
    await waitForServiceWorker(page)
    // The worker caches the page and everything it names, chunks included.
    const chunks = await waitForReleaseCached(page)
    assert.ok(chunks >= 5, `the build lists its chunks (${chunks})`)
    // Grouped by the patched splitter (client/build/split-wasm.mjs): a few
    // files, not one per set of modules sharing code (220 unpatched).
    assert.ok(chunks <= 40, `the chunks are grouped into a few files (${chunks})`)

    await context.setOffline(true)
    const failed = []
    page.on('requestfailed', (r) => {
      const url = new URL(r.url())
      if (!url.pathname.startsWith('/sync/') && !url.pathname.startsWith('/api/')) failed.push(url.pathname)
    })
    for (const path of pages) {
      const response = await page.goto(server.url + path, { waitUntil: 'commit' })
      assert.ok(response?.fromServiceWorker(), `${path} is served by the service worker`)
      const heading = page.locator('main h1').first()
      await heading.waitFor({ timeout: 30_000 })
      const text = (await heading.textContent()).trim()
      assert.notEqual(text, 'This page could not be loaded', `${path} opens offline`)
      assert.notEqual(text, 'Page not found', `${path} is a page`)
      // The parts a page loads after its heading (the action page's
      // governance section) are in before the next page (leaving earlier
      // would abort their fetch).
      await page.locator('main .plait-loading').first().waitFor({ state: 'detached', timeout: 30_000 })
      assert.equal(await page.getByText('This section could not be loaded').count(), 0, `${path} opens whole offline`)
    }
    assert.deepEqual(failed, [], 'no file was missing from the cache')
    assert.deepEqual(page.crashes, [], 'no page crashed')
  })
  await context.close()
})

test('a chunk that cannot be fetched is a message inside the page and a retry, not a crash', async () => {
  const { context, page } = await newPage(browser, { serviceWorkers: 'block' })
  await onFailure('chunk-retry', { pages: { page }, server }, async () => {
    // The signed-in frame's own module cannot be fetched (a dropped link).
    const blocked = /\/split_signed_in-[0-9a-f]+\.wasm$/
    await page.route(blocked, (route) => route.abort('internetdisconnected'))
    await page.goto(server.url + '/p/demo/my-work')
    await page.locator('#username').fill('d.hughes')
    await page.locator('#password').fill(DEMO_PASSWORD)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    const failed = page.locator('main h1', { hasText: 'This page could not be loaded' })
    await failed.waitFor({ timeout: 30_000 })
    assert.ok(await page.locator('header.nhsuk-header').isVisible(), 'the header frames the message')
    // The link is back: "Try again" opens the page.
    await page.unroute(blocked)
    await page.getByRole('button', { name: 'Try again' }).click()
    await page.getByRole('heading', { level: 1, name: 'My work' }).waitFor({ timeout: 30_000 })
    assert.deepEqual(page.crashes, [], 'no page crashed')
  })
  await context.close()
})
