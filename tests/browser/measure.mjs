// Measures the web client: what it weighs and how fast it loads.
//
//   node tests/browser/measure.mjs [--runs N]
//
// - Sizes: every .wasm, .js and .css file of client/dist, raw and gzipped
//   (node's zlib, level 9), with totals by kind.
// - Cold load on emulated slow 3G (CDP Network.emulateNetworkConditions:
//   400 kbit/s down, 400 kbit/s up, 400 ms latency; cache disabled; a fresh
//   context, service workers blocked so every byte goes through the
//   throttled page): from navigation start until the sign-in form shows;
//   then, from pressing "Sign in" (as d.hughes), until "168 of 168 actions"
//   shows on /actions, and until the overview's first heading renders on /
//   (and until its counts are complete). Also the bytes actually
//   transferred.
// - Offline reload: once signed in online, the service worker caches the
//   shell; then offline, reload /actions (the account is remembered), and
//   time until the action count shows (and until it shows every action, read
//   from IndexedDB).
//
// Times are the page's own `performance.now()` (0 = navigation start) when
// a MutationObserver first sees the condition; after signing in, they count
// from the press of "Sign in". Prints a table, then the
// JSON (also written to test-artifacts/measure.json). With --runs N, each
// timing is taken N times (fresh context each time) and the median shown.

import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'

import {
  PlaitServer, launchBrowser, clientDist, artifactsDir, ALL_ACTIONS_TEXT,
  DEMO_ACTIONS, DEMO_PASSWORD, signIn, waitForAllActions, waitForServiceWorker,
  ensurePrerequisites
} from './support.mjs'

const runsArg = process.argv.indexOf('--runs')
const RUNS = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 1) : 1

const SLOW_3G = {
  offline: false,
  latency: 400,
  // kbit/s → bytes/s
  downloadThroughput: (400 * 1000) / 8,
  uploadThroughput: (400 * 1000) / 8
}

function sizes () {
  const files = fs.readdirSync(clientDist)
    .filter((name) => /\.(wasm|js|css)$/.test(name))
    .sort()
    .map((name) => {
      const bytes = fs.readFileSync(path.join(clientDist, name))
      const kind = path.extname(name).slice(1)
      return {
        file: name,
        kind,
        bytes: bytes.length,
        gzip: zlib.gzipSync(bytes, { level: 9 }).length
      }
    })
  const totals = {}
  for (const f of files) {
    const t = (totals[f.kind] ??= { bytes: 0, gzip: 0 })
    t.bytes += f.bytes
    t.gzip += f.gzip
  }
  totals.all = files.reduce((t, f) => ({ bytes: t.bytes + f.bytes, gzip: t.gzip + f.gzip }), { bytes: 0, gzip: 0 })
  return { files, totals }
}

/// Records, in the page, when each condition first holds.
function marksScript ({ allActions, total }) {
  window.__marks = {}
  const mark = (name, holds) => {
    if (window.__marks[name] === undefined && holds()) window.__marks[name] = performance.now()
  }
  const check = () => {
    mark('signInForm', () => document.querySelector('#username'))
    mark('heading', () => {
      const h1 = document.querySelector('main h1')
      return h1 && !/^Sign in/.test(h1.textContent)
    })
    mark('actionCount', () => document.querySelector('[data-testid=action-count]'))
    mark('allActions', () => document.querySelector('[data-testid=action-count]')?.textContent.trim() === allActions)
    mark('overviewTotal', () => document.querySelector('.plait-tile__number')?.textContent.trim() === total)
  }
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true })
}

async function waitForMark (page, name, timeout) {
  const handle = await page.waitForFunction((n) => window.__marks?.[n], name, { timeout, polling: 100 })
  return Math.round(await handle.jsonValue())
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2)
}

/// One cold load of `url` on slow 3G; returns the marks and the bytes.
async function coldLoad (browser, url, marks) {
  const context = await browser.newContext({ serviceWorkers: 'block' })
  try {
    const page = await context.newPage()
    await page.addInitScript(marksScript, { allActions: ALL_ACTIONS_TEXT, total: String(DEMO_ACTIONS) })
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
    await cdp.send('Network.emulateNetworkConditions', SLOW_3G)
    const transferred = new Map()
    const urls = new Map()
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url))
    cdp.on('Network.loadingFinished', (e) => transferred.set(e.requestId, e.encodedDataLength))
    let wsBytes = 0
    cdp.on('Network.webSocketFrameReceived', (e) => { wsBytes += e.response.payloadData.length * 3 / 4 })
    await page.goto(url, { waitUntil: 'commit', timeout: 120_000 })
    const result = { signInForm: await waitForMark(page, 'signInForm', 180_000) }
    await page.locator('#username').fill('d.hughes')
    await page.locator('#password').fill(DEMO_PASSWORD)
    const submitted = await page.evaluate(() => performance.now())
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    for (const name of marks) result[name] = (await waitForMark(page, name, 180_000)) - Math.round(submitted)
    const byFile = {}
    for (const [id, bytes] of transferred) {
      const u = new URL(urls.get(id) ?? 'http://x/?')
      if (u.hostname !== '127.0.0.1') continue
      byFile[u.pathname] = (byFile[u.pathname] ?? 0) + bytes
    }
    result.httpBytes = Object.values(byFile).reduce((a, b) => a + b, 0)
    result.webSocketBytes = Math.round(wsBytes)
    result.byFile = byFile
    return result
  } finally {
    await context.close()
  }
}

/// Loads /actions online until the service worker controls the page, then
/// reloads with no network and times the action count.
async function offlineReload (browser, base) {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.addInitScript(marksScript, { allActions: ALL_ACTIONS_TEXT, total: String(DEMO_ACTIONS) })
    await signIn(page, 'd.hughes', { url: `${base}/actions` })
    await waitForAllActions(page)
    await waitForServiceWorker(page)
    await waitForAllActions(page)
    await context.setOffline(true)
    const response = await page.reload({ waitUntil: 'commit' })
    if (!response?.fromServiceWorker()) throw new Error('the offline reload was not served by the service worker')
    return {
      actionCount: await waitForMark(page, 'actionCount', 30_000),
      allActions: await waitForMark(page, 'allActions', 30_000)
    }
  } finally {
    await context.close()
  }
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`
const s = (ms) => `${(ms / 1000).toFixed(2)} s`

async function main () {
  ensurePrerequisites()
  const result = {
    when: new Date().toISOString(),
    runs: RUNS,
    network: { downKbps: 400, upKbps: 400, latencyMs: 400, cache: 'disabled', serviceWorkers: 'blocked' },
    sizes: sizes()
  }
  const server = await PlaitServer.start('measure')
  const browser = await launchBrowser()
  try {
    const actions = []
    const overview = []
    const offline = []
    for (let i = 0; i < RUNS; i++) {
      actions.push(await coldLoad(browser, `${server.url}/actions`, ['heading', 'actionCount', 'allActions']))
      overview.push(await coldLoad(browser, `${server.url}/`, ['heading', 'overviewTotal']))
      offline.push(await offlineReload(browser, server.url))
    }
    result.coldSlow3G = {
      untilSignInFormMs: median([...actions, ...overview].map((r) => r.signInForm)),
      actions: {
        untilAllActionsMs: median(actions.map((r) => r.allActions)),
        untilHeadingMs: median(actions.map((r) => r.heading)),
        httpBytes: actions[0].httpBytes,
        webSocketBytes: actions[0].webSocketBytes,
        byFile: actions[0].byFile,
        samples: actions.map((r) => r.allActions)
      },
      overview: {
        untilFirstHeadingMs: median(overview.map((r) => r.heading)),
        untilCountsCompleteMs: median(overview.map((r) => r.overviewTotal)),
        samples: overview.map((r) => r.heading)
      }
    }
    result.offlineReload = {
      untilActionCountMs: median(offline.map((r) => r.actionCount)),
      untilAllActionsMs: median(offline.map((r) => r.allActions)),
      samples: offline.map((r) => r.allActions)
    }
  } finally {
    await browser.close()
    await server.kill()
  }

  const rows = [
    ['Sizes (client/dist)', 'raw', 'gzip -9'],
    ...result.sizes.files.map((f) => [`  ${f.file}`, kb(f.bytes), kb(f.gzip)]),
    ...['wasm', 'js', 'css', 'all'].filter((k) => result.sizes.totals[k])
      .map((k) => [`  total ${k}`, kb(result.sizes.totals[k].bytes), kb(result.sizes.totals[k].gzip)]),
    ['', '', ''],
    [`Cold load, slow 3G (400/400 kbit/s, 400 ms)${RUNS > 1 ? `, median of ${RUNS}` : ''}`, 'time', ''],
    ['  sign-in form shows (from navigation)', s(result.coldSlow3G.untilSignInFormMs), ''],
    ['  after "Sign in":', '', ''],
    ['  /actions: first heading', s(result.coldSlow3G.actions.untilHeadingMs), ''],
    [`  /actions: "${ALL_ACTIONS_TEXT}"`, s(result.coldSlow3G.actions.untilAllActionsMs), ''],
    ['  /: overview first heading', s(result.coldSlow3G.overview.untilFirstHeadingMs), ''],
    [`  /: overview counts ${DEMO_ACTIONS} actions`, s(result.coldSlow3G.overview.untilCountsCompleteMs), ''],
    ['  transferred over HTTP', kb(result.coldSlow3G.actions.httpBytes), ''],
    ['  received over WebSocket (sync)', kb(result.coldSlow3G.actions.webSocketBytes), ''],
    ['', '', ''],
    ['Reload with no network (service worker + IndexedDB)', 'time', ''],
    ['  /actions: action count shows', s(result.offlineReload.untilActionCountMs), ''],
    [`  /actions: "${ALL_ACTIONS_TEXT}"`, s(result.offlineReload.untilAllActionsMs), '']
  ]
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)))
  for (const r of rows) {
    console.log(`${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padStart(widths[2])}`.trimEnd())
  }
  const json = JSON.stringify(result, null, 2)
  console.log('\n' + json)
  fs.mkdirSync(artifactsDir, { recursive: true })
  fs.writeFileSync(path.join(artifactsDir, 'measure.json'), json + '\n')
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
