// (b) The app works with no network at all: once loaded online, the service
// worker serves the app shell and IndexedDB holds the data and the edits
// not yet synced, across a reload while offline (the signed-in account is
// remembered, so no sign-in is needed); back online, the edit reaches the
// server. D. Hughes adds a progress update to an action they own.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, actionLinks, waitForActionDetail,
  waitForAllSaved, waitForStatus, waitForServiceWorker, waitingCount,
  selectors, eventually, onFailure, timed, progressUpdates, anotherBrowserSeesUpdate
} from './support.mjs'

let server
let browser

before(async () => {
  server = await PlaitServer.start('offline-reload')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.kill()
})


test('an edit made offline survives a reload with no network, then reaches the server', async () => {
  const { context, page } = await newPage(browser)
  await onFailure('offline-reload', { pages: { page }, server }, async () => {
    await signIn(page, 'd.hughes', { url: server.url })
    const links = await actionLinks(page, server.url, { owner: 'D. Hughes' })
    await timed('(b) service worker installed and controlling', () => waitForServiceWorker(page))
    // A reload to get control may have happened: the list is whole again.
    const link = links[2]
    await page.goto(server.url + link)
    await waitForActionDetail(page)
    await waitForAllSaved(page)
    assert.ok(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)), 'the service worker controls the page')
    const cached = await page.evaluate(async () => {
      const cache = await caches.open('plait-shell-v1')
      return (await cache.keys()).map((r) => new URL(r.url).pathname)
    })
    for (const kind of [/^\/$/, /\.wasm$/, /\.js$/, /\.css$/]) {
      assert.ok(cached.some((p) => kind.test(p)), `the shell cache holds ${kind} (it holds ${JSON.stringify(cached)})`)
    }

    // Offline: add a progress update.
    await context.setOffline(true)
    await waitForStatus(page, /^Offline\b/)
    // Really no network, for the page and for its service worker.
    const probe = () => fetch('/healthz', { cache: 'no-store' }).then((r) => `HTTP ${r.status}`, () => 'failed')
    assert.equal(await page.evaluate(probe), 'failed', 'the page has no network')
    const [worker] = context.serviceWorkers()
    assert.ok(worker, 'the service worker is running')
    assert.equal(await worker.evaluate(probe), 'failed', 'the service worker has no network')
    const text = `Offline update ${Date.now()}: night staff briefed on the new ligature checks.`
    await page.locator('#new-update').fill(text)
    await page.getByRole('button', { name: 'Add update' }).click()
    await eventually(async () => (await progressUpdates(page))[0] === text, {
      message: 'the new update listed first on the page'
    })
    assert.equal(await page.inputValue('#new-update'), '', 'the form is cleared')
    await waitForStatus(page, /^Offline · \d+ changes? waiting to sync — oldest just now/)
    const waiting = await waitingCount(page)
    assert.ok(waiting >= 1)

    // Reload with no network: the shell comes from the service worker,
    // the edit from IndexedDB, the count of waiting changes from
    // localStorage.
    await timed('(b) offline reload until the action shows', async () => {
      const response = await page.reload()
      assert.ok(response, 'the reload got an answer')
      assert.ok(response.fromServiceWorker(), 'the page came from the service worker')
      await waitForActionDetail(page)
    })
    assert.match(await page.locator(selectors.signedInAs).innerText(), /D\. Hughes/, 'still signed in, offline')
    await eventually(async () => (await progressUpdates(page))[0] === text, {
      message: 'the offline edit still there after an offline reload'
    })
    await waitForStatus(page, /^Offline · \d+ changes? waiting to sync/)
    assert.equal(await waitingCount(page), waiting, 'the same number of changes waiting after the reload')

    // Online: saved, and a second browser sees it.
    await timed('(b) online until all changes saved', async () => {
      await context.setOffline(false)
      await waitForAllSaved(page)
    })
    assert.equal(await page.locator(selectors.network).getAttribute('data-network'), 'Online')
    assert.deepEqual(page.crashes, [], 'no uncaught errors or panics')

    await anotherBrowserSeesUpdate(browser, server, link, text, 'a second, fresh browser seeing the offline update')
  })
  await context.close()
})

// An edit made a moment before the page goes away: its IndexedDB write is
// held up (another transaction keeps the store busy, as a slow tablet's
// disk would) when the page reloads. The journal in localStorage, written
// as the edit is made, brings it back; it reaches the server. Before the
// journal the edit was simply gone (CI lost one so, in the test above).
test('an edit made just before a reload, while this device\'s store is still writing, is kept and reaches the server', async () => {
  const { page, context } = await newPage(browser)
  await onFailure('reload-mid-write', { pages: { page }, server }, async () => {
    await signIn(page, 'd.hughes', { url: server.url })
    const links = await actionLinks(page, server.url, { owner: 'D. Hughes' })
    const link = links[3]
    await page.goto(server.url + link)
    await waitForActionDetail(page)
    await waitForAllSaved(page)
    const held = await page.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name).filter((n) => n.startsWith('plait-'))
      let held = 0
      for (const name of names) {
        const db = await new Promise((resolve, reject) => {
          const request = indexedDB.open(name)
          request.onsuccess = () => resolve(request.result)
          request.onerror = () => reject(request.error)
        })
        if (!db.objectStoreNames.contains('updates')) continue
        const store = db.transaction(['updates'], 'readwrite').objectStore('updates')
        const spin = () => { store.count().onsuccess = spin }
        spin()
        held += 1
      }
      return held
    })
    assert.ok(held >= 1, 'the store of updates is held busy')
    const text = `Update made as the tablet reloaded ${Date.now()}: bay 3 checked.`
    await page.locator('#new-update').fill(text)
    await page.getByRole('button', { name: 'Add update' }).click()
    await eventually(async () => (await progressUpdates(page))[0] === text, {
      message: 'the new update listed first on the page'
    })
    await page.reload()
    await waitForActionDetail(page)
    await eventually(async () => (await progressUpdates(page))[0] === text, {
      message: 'the edit still there after the reload'
    })
    await waitForAllSaved(page)
    assert.deepEqual(page.crashes, [], 'no uncaught errors or panics')

    await anotherBrowserSeesUpdate(browser, server, link, text, 'a second, fresh browser seeing the update')
  })
  await context.close()
})
