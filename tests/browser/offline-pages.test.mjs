// Issue 18: the client is split into chunks fetched on first use
// (client/src/chunks.rs). After one online visit that opens only My work,
// the service worker holds every chunk, so every page opens with no
// network: none shows "This page could not be loaded", none fetches a file
// the cache lacks, none crashes.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, everyDemoPage,
  waitForServiceWorker, eventually, onFailure
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
    const missing = () => page.evaluate(async () => {
      const html = await (await fetch('/', { cache: 'no-store' })).text()
      const named = [...html.matchAll(/(?:href|src)="(\/[^"]+)"/g)].map((m) => m[1])
      const chunks = html.match(/<meta name="plait-chunks" content="([^"]*)"/)[1].split(' ')
      const cache = await caches.open('plait-shell-v1')
      const held = new Set((await cache.keys()).map((r) => new URL(r.url).pathname))
      return { count: chunks.length, missing: ['/', ...named, ...chunks].filter((u) => !held.has(u)) }
    })
    const cached = await eventually(async () => {
      const state = await missing()
      return state.missing.length === 0 && state
    }, { timeout: 60_000, message: 'the service worker caching every file and chunk' })
    assert.ok(cached.count >= 5, `the build lists its chunks (${cached.count})`)

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
    }
    assert.deepEqual(failed, [], 'no file was missing from the cache')
    assert.deepEqual(page.crashes, [], 'no page crashed')
  })
  await context.close()
})
