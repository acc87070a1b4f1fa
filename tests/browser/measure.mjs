// Measures the web client's download and load times (issue 18's targets; a
// benchmark, not a test: it prints numbers, BENCHMARKS.md records them).
//
//   node tests/browser/measure.mjs [--runs N]
//
// - Sizes, from client/dist as built by `trunk build --release`: every
//   file raw, gzip and brotli (the precompressed copies the server sends);
//   the initial download (index.html and everything it names: what the
//   browser fetches before the sign-in page is usable); and what each chunk
//   costs when first used: a split module and the shared chunks it needs
//   (client/build/split-wasm.mjs writes the link module that lists them),
//   beyond the main module, and for a page beyond the signed-in frame,
//   which is always loaded before any page.
// - Cold loads on emulated networks (CDP Network.emulateNetworkConditions;
//   cache disabled; a fresh context with service workers blocked, so every
//   byte goes through the throttled page): slow 3G (400 kbit/s both ways,
//   400 ms latency) and Lighthouse's slow 4G (1.6 Mbit/s down, 750 kbit/s
//   up, 150 ms latency). From navigation to /p/demo/my-work until the
//   sign-in form is usable (rendered by the wasm, so its handlers are
//   attached); after 3 s of typing (the ward's chunks download meanwhile),
//   from pressing "Sign in" (as d.hughes) until My work lists their work;
//   and the bytes transferred before the sign-in form was usable.
// - Repeat visits: signed in once online (the service worker caches the
//   release), then reloaded on slow 3G, and with no network at all; time
//   from navigation until My work lists the work.
//
// Times are the page's own `performance.now()` (0 = navigation start) when
// a MutationObserver first sees the condition. With --runs N each timing is
// taken N times (a fresh context each time) and the median shown. Prints a
// table, then the JSON (also written to test-artifacts/measure.json).

import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'

import {
  PlaitServer, launchBrowser, clientDist, artifactsDir, DEMO_PASSWORD, signIn,
  waitForServiceWorker, waitForReleaseCached, ensurePrerequisites
} from './support.mjs'

const runsArg = process.argv.indexOf('--runs')
const RUNS = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 1) : 1

const kbps = (k) => (k * 1000) / 8
const NETWORKS = {
  'slow 3G': { offline: false, latency: 400, downloadThroughput: kbps(400), uploadThroughput: kbps(400) },
  'slow 4G': { offline: false, latency: 150, downloadThroughput: kbps(1600), uploadThroughput: kbps(750) }
}
const TARGETS = { initialKB: 250, chunkKB: 150, signInMs: { 'slow 3G': 6000, 'slow 4G': 2500 }, repeatMs: 1000 }

function fileSizes () {
  const files = fs.readdirSync(clientDist)
    .filter((name) => /\.(wasm|js|css)$/.test(name))
    .sort()
    .map((name) => {
      const file = path.join(clientDist, name)
      const bytes = fs.readFileSync(file)
      const read = (ext, make) => fs.existsSync(file + ext) ? fs.statSync(file + ext).size : make(bytes).length
      return {
        file: name,
        kind: path.extname(name).slice(1),
        bytes: bytes.length,
        gzip: read('.gz', (b) => zlib.gzipSync(b, { level: 9 })),
        brotli: read('.br', (b) => zlib.brotliCompressSync(b))
      }
    })
  const totals = {}
  for (const f of files) {
    for (const kind of [f.kind, 'all']) {
      const t = (totals[kind] ??= { bytes: 0, gzip: 0, brotli: 0, files: 0 })
      t.bytes += f.bytes
      t.gzip += f.gzip
      t.brotli += f.brotli
      t.files += 1
    }
  }
  return { files, totals }
}

/// index.html and what it names, as the browser receives them (brotli; the
/// page itself is gzipped on the fly).
function initialDownload (byName) {
  const html = fs.readFileSync(path.join(clientDist, 'index.html'))
  const named = [...html.toString().matchAll(/<(?:script|link)[^>]*(?:href|src)="\/([^"]+)"[^>]*>/g)]
    .filter((m) => !/rel="icon"/.test(m[0]))
    .map((m) => m[1])
  const files = [{ file: 'index.html', brotli: zlib.gzipSync(html, { level: 6 }).length }, ...named.map((n) => byName[n])]
  return { files: files.map((f) => f.file), brotli: files.reduce((n, f) => n + f.brotli, 0) }
}

/// What each split module costs on first use: its file and the shared
/// chunks it needs, read from the link module (`__wasm_split-*.js`).
function chunkCosts (byName) {
  const link = fs.readdirSync(clientDist).find((f) => /^__wasm_split-[0-9a-f]+\.js$/.test(f))
  if (!link) return null
  const js = fs.readFileSync(path.join(clientDist, link), 'utf8')
  const shared = Object.fromEntries([...js.matchAll(/const (__chunk_\d+) = makeLoad\(\(\) => \{\s*const src = fetch\(new URL\("\.\/([^"]+)"/g)]
    .map((m) => [m[1], m[2]]))
  const splits = {}
  const files = (loader, deps) => {
    const own = loader.match(/new URL\("\.\/([^"]+)"/)
    const needed = deps.split(',').map((d) => d.trim()).filter(Boolean)
      .flatMap((d) => d === '__preloaded' ? [...(splits.signed_in ?? [])] : [shared[d]])
    return new Set([...needed, ...(own ? [own[1]] : [])])
  }
  // The frame, which every other module waits for (the splitter's
  // --preloaded), is declared first.
  const preloaded = js.match(/const __preloaded = makeLoad\(([\s\S]*?), \[([^\]]*)\]\);/)
  if (preloaded) splits.signed_in = files(preloaded[1], preloaded[2])
  for (const m of js.matchAll(/export const __wasm_split_load_(\w+) = wrapAsyncCb\(makeLoad\(([\s\S]*?), \[([^\]]*)\]\)\)/g)) {
    splits[m[1]] = files(m[2], m[3])
  }
  const frame = splits.signed_in ?? new Set()
  const brotli = (set) => [...set].reduce((n, f) => n + byName[f].brotli, 0)
  // The action page loads its governance section as a second chunk, at
  // once: the page as a whole is shown too.
  if (splits.action && splits.governance) {
    splits['action page whole'] = new Set([...splits.action, ...splits.governance])
  }
  return Object.fromEntries(Object.entries(splits).map(([name, set]) => {
    const beyond = name === 'signed_in' ? set : new Set([...set].filter((f) => !frame.has(f)))
    return [name, { files: beyond.size, brotli: brotli(beyond), withFrame: brotli(set) }]
  }))
}

/// Records, in the page, when each condition first holds.
function marksScript () {
  window.__marks = {}
  const mark = (name, holds) => {
    if (window.__marks[name] === undefined && holds()) window.__marks[name] = performance.now()
  }
  const check = () => {
    mark('signInForm', () => document.querySelector('#username') && document.querySelector('main button[type=submit]'))
    mark('myWork', () => {
      const h1 = document.querySelector('main h1')
      return h1?.textContent.trim() === 'My work' &&
        document.querySelector('main .nhsuk-lede-text') &&
        document.querySelector('main a[href*="/actions/"]')
    })
  }
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: true })
}

async function waitForMark (page, name, timeout) {
  const handle = await page.waitForFunction((n) => window.__marks?.[n], name, { timeout, polling: 100 })
  return Math.round(await handle.jsonValue())
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2)
}

/// One cold load on `network`.
async function coldLoad (browser, base, network) {
  const context = await browser.newContext({ serviceWorkers: 'block' })
  try {
    const page = await context.newPage()
    await page.addInitScript(marksScript)
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
    await cdp.send('Network.emulateNetworkConditions', NETWORKS[network])
    // Each request's bytes and when it finished (CDP's monotonic clock,
    // turned into wall time with the offset its first event gives).
    let offset
    const finished = []
    const started = new Map()
    cdp.on('Network.requestWillBeSent', (e) => {
      offset ??= e.wallTime - e.timestamp
      started.set(e.requestId, { url: new URL(e.request.url).pathname, at: (e.timestamp + offset) * 1000 })
    })
    cdp.on('Network.loadingFinished', (e) => finished.push({
      ...started.get(e.requestId), start: started.get(e.requestId)?.at, at: (e.timestamp + offset) * 1000, bytes: e.encodedDataLength
    }))
    let frames = 0
    let frameBytes = 0
    const socketFrames = []
    cdp.on('Network.webSocketCreated', (e) => socketFrames.push(['open', new URL(e.url).pathname, Date.now()]))
    cdp.on('Network.webSocketFrameReceived', (e) => {
      frames += 1
      frameBytes += e.response.payloadData.length * 3 / 4
      socketFrames.push(['frame', e.requestId, (e.timestamp + offset) * 1000, Math.round(e.response.payloadData.length * 3 / 4)])
    })
    await page.goto(`${base}/p/demo/my-work`, { waitUntil: 'commit', timeout: 120_000 })
    const signInForm = await waitForMark(page, 'signInForm', 180_000)
    const formAt = await page.evaluate((m) => performance.timeOrigin + m, signInForm)
    const bytesBeforeForm = finished.filter((r) => r.at <= formAt).reduce((n, r) => n + r.bytes, 0)
    // Someone types their name and password.
    await page.waitForTimeout(3000)
    await page.locator('#username').fill('d.hughes')
    await page.locator('#password').fill(DEMO_PASSWORD)
    const pressed = await page.evaluate(() => performance.now())
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    const myWork = await waitForMark(page, 'myWork', 180_000)
    const origin = await page.evaluate(() => performance.timeOrigin)
    return {
      // Every HTTP request, ms from navigation start (start, end), and the
      // WebSocket frames received.
      timeline: finished.map((r) => [r.url, Math.round(r.start - origin), Math.round(r.at - origin), r.bytes]),
      webSocket: { frames, bytes: Math.round(frameBytes), timeline: socketFrames.map(([kind, what, at, bytes]) => [kind, what, Math.round(at - origin), bytes]) },
      pressedMs: Math.round(pressed),
      signInForm,
      bytesBeforeForm,
      myWorkAfterSignIn: myWork - Math.round(pressed),
      bytesTotal: finished.reduce((n, r) => n + r.bytes, 0)
    }
  } finally {
    await context.close()
  }
}

/// Signed in once online; then reloads on slow 3G and with no network.
async function repeatVisits (browser, base) {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.addInitScript(marksScript)
    await signIn(page, 'd.hughes', { url: `${base}/p/demo/my-work` })
    await waitForMark(page, 'myWork', 60_000)
    await waitForServiceWorker(page)
    await waitForReleaseCached(page, { timeout: 120_000 })
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', NETWORKS['slow 3G'])
    const online = await page.reload({ waitUntil: 'commit' })
    const slow3G = await waitForMark(page, 'myWork', 60_000)
    const fromWorker = Boolean(online?.fromServiceWorker())
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
    await context.setOffline(true)
    const offline = await page.reload({ waitUntil: 'commit' })
    const noNetwork = await waitForMark(page, 'myWork', 60_000)
    return { slow3G, noNetwork, fromWorker: fromWorker && Boolean(offline?.fromServiceWorker()) }
  } finally {
    await context.close()
  }
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`
const KB = (n) => `${(n / 1000).toFixed(1)} KB`
const s = (ms) => `${(ms / 1000).toFixed(2)} s`
const meets = (ok) => (ok ? 'yes' : 'NO')

async function main () {
  ensurePrerequisites()
  const sizes = fileSizes()
  const byName = Object.fromEntries(sizes.files.map((f) => [f.file, f]))
  const result = {
    when: new Date().toISOString(),
    runs: RUNS,
    networks: NETWORKS,
    targets: TARGETS,
    sizes,
    initial: initialDownload(byName),
    chunks: chunkCosts(byName)
  }
  const server = await PlaitServer.start('measure')
  const browser = await launchBrowser()
  try {
    result.cold = {}
    for (const network of Object.keys(NETWORKS)) {
      const runs = []
      for (let i = 0; i < RUNS; i++) runs.push(await coldLoad(browser, server.url, network))
      result.cold[network] = {
        signInFormMs: median(runs.map((r) => r.signInForm)),
        myWorkAfterSignInMs: median(runs.map((r) => r.myWorkAfterSignIn)),
        bytesBeforeForm: runs[0].bytesBeforeForm,
        bytesTotal: runs[0].bytesTotal,
        samples: runs
      }
    }
    const repeats = []
    for (let i = 0; i < RUNS; i++) repeats.push(await repeatVisits(browser, server.url))
    result.repeat = {
      slow3GMs: median(repeats.map((r) => r.slow3G)),
      noNetworkMs: median(repeats.map((r) => r.noNetwork)),
      servedByWorker: repeats.every((r) => r.fromWorker),
      samples: repeats
    }
  } finally {
    await browser.close()
    await server.kill()
  }

  const chunkRows = Object.entries(result.chunks ?? {}).sort((a, b) => b[1].brotli - a[1].brotli)
  const largest = chunkRows.filter(([name]) => !name.includes('whole'))[0]?.[1].brotli ?? 0
  const rows = [
    ['Sizes (client/dist)', 'raw', 'gzip -9', 'brotli', 'target met'],
    ...['wasm', 'js', 'css', 'all'].filter((k) => sizes.totals[k])
      .map((k) => [`  all ${k} (${sizes.totals[k].files} files)`, kb(sizes.totals[k].bytes), kb(sizes.totals[k].gzip), kb(sizes.totals[k].brotli), '']),
    [`  initial download (${result.initial.files.length} files, before the sign-in page)`, '', '', KB(result.initial.brotli),
      meets(result.initial.brotli <= TARGETS.initialKB * 1000)],
    ['  chunks on first use (beyond the frame, for a page):', '', '', '', ''],
    ...chunkRows.map(([name, c]) => [`    ${name} (${c.files} files)`, '', '', KB(c.brotli),
      name.includes('whole') ? '(two chunks)' : meets(c.brotli <= TARGETS.chunkKB * 1000)]),
    ['', '', '', '', ''],
    ...Object.entries(result.cold).flatMap(([network, c]) => [
      [`Cold load, ${network}${RUNS > 1 ? `, median of ${RUNS}` : ''}`, 'time', '', '', ''],
      ['  sign-in form usable (from navigation)', s(c.signInFormMs), '', '', meets(c.signInFormMs <= TARGETS.signInMs[network])],
      ['  bytes before it was usable', KB(c.bytesBeforeForm), '', '', ''],
      ['  My work listed (from pressing "Sign in", after 3 s typing)', s(c.myWorkAfterSignInMs), '', '', ''],
      ['  bytes in all', KB(c.bytesTotal), '', '', '']
    ]),
    ['', '', '', '', ''],
    ['Repeat visit (service worker, then refreshed)', 'time', '', '', ''],
    ['  My work listed, slow 3G', s(result.repeat.slow3GMs), '', '', meets(result.repeat.slow3GMs <= TARGETS.repeatMs)],
    ['  My work listed, no network', s(result.repeat.noNetworkMs), '', '', meets(result.repeat.noNetworkMs <= TARGETS.repeatMs)]
  ]
  result.largestChunkBrotli = largest
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i].length)))
  for (const r of rows) {
    console.log(`${r[0].padEnd(widths[0])}  ${r.slice(1).map((c, i) => c.padStart(widths[i + 1])).join('  ')}`.trimEnd())
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
