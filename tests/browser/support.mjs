// Shared helpers for the browser end-to-end tests (tests/browser/*.test.mjs)
// and the measurement script (tests/browser/measure.mjs).
//
// - `PlaitServer` runs the real server binary (`target/debug/plait`) as a
//   child process on a port picked here, with a fresh temporary data dir,
//   the demo programme and the built web client; it can stop (SIGTERM) and
//   start again on the same port and data dir, and it is always killed at the
//   end (`after` hooks, and a last-resort `exit` handler).
// - `launchBrowser` starts Debian's Chromium through playwright-core
//   (installed in tools/node_modules, which is not on this file's
//   resolution path: it is loaded with `createRequire` pointed at tools/).
// - Page helpers wait on conditions (the action count, the sync status line),
//   never on fixed sleeps.
// - `signIn` signs a page in through the sign-in form as one of the demo
//   accounts (`--demo` seeds them; the password is `plait-demo`), and
//   `apiSignIn`/`fetchPlan` read the server's copy of a document from Node
//   with a bearer token, to check what really reached it.

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
export const repoRoot = path.resolve(here, '../..')
export const toolsRequire = createRequire(path.join(repoRoot, 'tools/package.json'))
export const { chromium } = toolsRequire('playwright-core')

export const clientDist = path.join(repoRoot, 'client/dist')
export const serverBinary = path.join(repoRoot, 'target/debug/plait')
export const artifactsDir = path.join(repoRoot, 'test-artifacts')
export const screenshotsDir = path.join(artifactsDir, 'screenshots')

/// The demo accounts' password (server/src/demo.rs).
export const DEMO_PASSWORD = 'plait-demo'

/// The demo programme's size (fixtures/nsft-style-action-plan.csv).
export const DEMO_ACTIONS = 338
export const ALL_ACTIONS_TEXT = `${DEMO_ACTIONS} of ${DEMO_ACTIONS} actions`

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run'
]

/// Fails clearly when the web client or Chromium is missing; builds the
/// server binary when it is missing.
export function ensurePrerequisites () {
  if (!fs.existsSync(path.join(clientDist, 'index.html'))) {
    throw new Error(
      `the web client is not built: ${path.join(clientDist, 'index.html')} is missing ` +
      '(run `source scripts/env.sh && trunk build --release`; scripts/test does)'
    )
  }
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing (scripts/setup --browser installs Debian's Chromium)`)
  }
  if (!fs.existsSync(serverBinary)) {
    console.error(`${serverBinary} is missing: cargo build -p plait-server`)
    const built = spawnSync('cargo', ['build', '-p', 'plait-server'], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit']
    })
    if (built.status !== 0 || !fs.existsSync(serverBinary)) {
      throw new Error('cargo build -p plait-server failed; the browser tests need target/debug/plait')
    }
  }
}

/// A port that was free a moment ago (bound with port 0, then closed), so
/// the server can be given it and restarted on it.
export function freePort () {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Every server child still running is killed when this process ends,
// however it ends.
const running = new Set()
function killAll () {
  for (const child of running) {
    try { child.kill('SIGKILL') } catch {}
  }
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAll()
    process.kill(process.pid, signal)
  })
}

/// The real server, as a child process.
export class PlaitServer {
  constructor ({ port, dataDir, name = 'plait', args = [] }) {
    this.port = port
    this.dataDir = dataDir
    this.name = name
    this.args = args
    this.child = null
    this.log = []
    this.ownsDataDir = false
  }

  /// Starts a server on a fresh port and a fresh temporary data dir;
  /// `args` are added to `plait serve`'s (e.g. `--session-idle-seconds 3`).
  static async start (name = 'plait', { args = [] } = {}) {
    ensurePrerequisites()
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plait-browser-'))
    const server = new PlaitServer({ port: await freePort(), dataDir, name, args })
    server.ownsDataDir = true
    await server.start()
    return server
  }

  get url () {
    return `http://127.0.0.1:${this.port}`
  }

  /// Starts the binary (on the same port and data dir as before) and waits
  /// for `GET /healthz`.
  async start ({ timeoutMs = 30_000 } = {}) {
    if (this.child) throw new Error('the server is already running')
    const args = [
      'serve',
      '--addr', `127.0.0.1:${this.port}`,
      '--data-dir', this.dataDir,
      '--client-dir', clientDist,
      '--demo',
      '--log-format', 'json',
      ...this.args
    ]
    const child = spawn(serverBinary, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info' }
    })
    this.child = child
    running.add(child)
    const keep = (chunk) => {
      this.log.push(chunk.toString())
      if (this.log.length > 2000) this.log.splice(0, this.log.length - 2000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        running.delete(child)
        resolve({ code, signal })
      })
    })
    let exit = null
    child.exited.then((e) => { exit = e })
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (exit) {
        this.child = null
        throw new Error(`the server exited while starting (${JSON.stringify(exit)}):\n${this.logText()}`)
      }
      try {
        const response = await fetch(`${this.url}/healthz`)
        if (response.ok && (await response.text()).trim() === 'ok') return
      } catch {}
      if (Date.now() > deadline) {
        await this.kill()
        throw new Error(`the server did not answer /healthz within ${timeoutMs} ms:\n${this.logText()}`)
      }
      await sleep(50)
    }
  }

  /// SIGTERM (graceful shutdown), then SIGKILL if it takes too long.
  async stop ({ timeoutMs = 15_000 } = {}) {
    const child = this.child
    if (!child) return null
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const exit = await child.exited
    clearTimeout(timer)
    this.child = null
    return exit
  }

  async restart () {
    await this.stop()
    await this.start()
  }

  /// Kills it at once (the end of a test), and removes its data dir.
  async kill ({ removeData = true } = {}) {
    const child = this.child
    if (child) {
      child.kill('SIGKILL')
      await child.exited
      this.child = null
    }
    if (removeData && this.ownsDataDir) {
      fs.rmSync(this.dataDir, { recursive: true, force: true })
    }
  }

  logText (lines = 60) {
    return this.log.join('').split('\n').slice(-lines).join('\n')
  }
}

/// Debian's Chromium, headless.
export function launchBrowser () {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

/// A fresh context (fresh profile: no service worker, no IndexedDB) and a
/// page in it. Console errors and page errors are collected on
/// `page.errors` (everything, for diagnostics) and `page.crashes` (uncaught
/// exceptions and wasm panics, which tests assert are absent).
export async function newPage (browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options })
  const page = await context.newPage()
  page.errors = []
  page.crashes = []
  page.on('pageerror', (e) => {
    page.errors.push(`pageerror: ${e.message}`)
    page.crashes.push(e.message)
  })
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    page.errors.push(`console: ${m.text()}`)
    // A Rust panic in the wasm (console_error_panic_hook, or the default).
    if (/panicked|RuntimeError|unreachable/.test(m.text())) page.crashes.push(m.text())
  })
  return { context, page }
}

/// Signs `page` in as the demo account `username` through the sign-in form
/// (going to `url` first, if given), and waits for the app.
export async function signIn (page, username, { password = DEMO_PASSWORD, url } = {}) {
  if (url) await page.goto(url)
  const field = page.locator('#username')
  await field.waitFor({ state: 'visible', timeout: 30_000 })
  await field.fill(username)
  await page.locator('#password').fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  try {
    await page.locator(selectors.signedInAs).waitFor({ timeout: 20_000 })
  } catch (e) {
    const shown = await page.locator('main').innerText().catch(() => '(no main)')
    throw new Error(`signing in as ${username} did not open the app; the page shows ${JSON.stringify(shown.slice(0, 300))}`)
  }
}

/// Signs in from Node (`POST /api/auth/login`): the account as the server
/// describes it, with its bearer `token`.
export async function apiSignIn (server, username, password = DEMO_PASSWORD) {
  const response = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password })
  })
  if (!response.ok) throw new Error(`signing in as ${username}: HTTP ${response.status} ${await response.text()}`)
  return response.json()
}

/// The server's copy of a document (`GET /api/docs/{id}`), as a Y.Doc of the
/// npm yjs (from tools/node_modules).
export async function fetchDoc (server, token, docId) {
  const response = await fetch(`${server.url}/api/docs/${docId}`, {
    headers: { authorization: `Bearer ${token}` }
  })
  if (!response.ok) throw new Error(`GET /api/docs/${docId}: HTTP ${response.status}`)
  const Y = toolsRequire('yjs')
  const doc = new Y.Doc()
  Y.applyUpdate(doc, new Uint8Array(await response.arrayBuffer()))
  return doc
}

export const selectors = {
  actionCount: '[data-testid=action-count]',
  syncStatus: '[data-testid=sync-status]',
  network: '[data-testid=sync-status] .plait-sync-status__network',
  saved: '[data-testid=sync-status] .plait-sync-status__saved',
  signedInAs: '[data-testid=signed-in-as]',
  notices: '[data-testid=notices]'
}

/// The sync status line's text.
export function syncStatusText (page) {
  return page.locator(selectors.syncStatus).innerText()
}

/// Waits until the sync status line matches `pattern` (a RegExp), and
/// says what it showed instead when it does not.
export async function waitForStatus (page, pattern, { timeout = 20_000, label = '' } = {}) {
  try {
    await page.waitForFunction(
      ([selector, source, flags]) => {
        const el = document.querySelector(selector)
        return el && new RegExp(source, flags).test(el.textContent)
      },
      [selectors.syncStatus, pattern.source, pattern.flags],
      { timeout, polling: 100 }
    )
  } catch (e) {
    const shown = await page.locator(selectors.syncStatus).textContent().catch(() => '(no status line)')
    throw new Error(`${label ? label + ': ' : ''}the sync status never matched ${pattern} within ${timeout} ms; it shows ${JSON.stringify(shown)}`)
  }
}

/// Waits until every change is saved on the server.
export function waitForAllSaved (page, options = {}) {
  return waitForStatus(page, /All changes saved/, options)
}

/// Waits for the action list to show all the demo programme's actions.
export async function waitForAllActions (page, { timeout = 30_000 } = {}) {
  try {
    await page.waitForFunction(
      ([selector, text]) => document.querySelector(selector)?.textContent.trim() === text,
      [selectors.actionCount, ALL_ACTIONS_TEXT],
      { timeout, polling: 50 }
    )
  } catch (e) {
    const shown = await page.locator(selectors.actionCount).textContent().catch(() => '(no action count)')
    throw new Error(`the action list never showed "${ALL_ACTIONS_TEXT}" within ${timeout} ms; it shows ${JSON.stringify(shown)}`)
  }
}

/// Opens /actions, waits for every action, and returns the links of the
/// actions' detail pages (`/actions/{plan}/{action}`), in list order. With
/// `owner` (a display name), only that person's actions.
export async function actionLinks (page, baseUrl, { owner } = {}) {
  // Every action on one page (the list shows 50 at a time otherwise).
  await page.goto(`${baseUrl}/actions?page=all`)
  await waitForAllActions(page)
  if (owner) {
    await page.selectOption('#f-owner', owner)
    await page.waitForFunction(
      ([selector, all]) => document.querySelector(selector)?.textContent.trim() !== all,
      [selectors.actionCount, ALL_ACTIONS_TEXT], { polling: 50 })
    return page.$$eval('table.plait-actions tbody a[href*="/actions/"]', (links) =>
      links.map((a) => a.getAttribute('href')))
  }
  const hrefs = await page.$$eval('table.plait-actions tbody a[href*="/actions/"]', (links) =>
    links.map((a) => a.getAttribute('href')))
  if (hrefs.length !== DEMO_ACTIONS) {
    throw new Error(`expected ${DEMO_ACTIONS} action links, found ${hrefs.length}`)
  }
  return hrefs
}

/// Waits for an action's detail page to show the action (not "not on this
/// device yet").
export async function waitForActionDetail (page, { timeout = 30_000 } = {}) {
  // The editable details, or (for whoever may change none of them) their
  // read-only summary.
  await page.locator('#description, [data-testid=details-summary]').first().waitFor({ state: 'visible', timeout })
}

/// The texts of an action page's progress updates, newest first.
export function progressUpdates (page) {
  return page.$$eval('ul.plait-updates > li > p:first-child', (ps) => ps.map((p) => p.textContent))
}

/// Signs a fresh browser in as the board member, opens the action at
/// `link` and waits until its progress updates include `text`: the server
/// has it.
export async function anotherBrowserSeesUpdate (browser, server, link, text, message) {
  const other = await newPage(browser)
  try {
    await signIn(other.page, 'board', { url: server.url + link })
    await waitForActionDetail(other.page)
    await eventually(async () => (await progressUpdates(other.page)).includes(text), { message })
  } finally {
    await other.context.close()
  }
}

/// Saves a full-page screenshot to test-artifacts/screenshots/NAME.png.
export async function screenshot (page, name) {
  fs.mkdirSync(screenshotsDir, { recursive: true })
  const file = path.join(screenshotsDir, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/// Waits for a condition in Node (polling), with a message on timeout.
/**
 * Waits until keyboard focus is on the element `id`. Plait moves focus at
 * the next animation frame after the view that holds the element renders
 * (client/src/browser.rs, `focus`), so a check made the moment the element
 * appears can run a frame too early.
 */
export async function focusMovesTo (page, id, message = `focus on #${id}`) {
  await eventually(async () => (await page.evaluate(() => document.activeElement?.id)) === id, { timeout: 5_000, message })
}

export async function eventually (check, { timeout = 20_000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  let last
  for (;;) {
    try {
      last = await check()
      if (last) return last
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) {
      throw new Error(`${message} did not hold within ${timeout} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`)
    }
    await sleep(interval)
  }
}

/// Waits until the page's service worker is active and controls the page
/// (reloading once if it was registered by this very load).
export async function waitForServiceWorker (page, { timeout = 30_000 } = {}) {
  await page.waitForFunction(() => navigator.serviceWorker.ready.then(() => true), null, { timeout })
  const controlled = () => page.evaluate(() => Boolean(navigator.serviceWorker.controller))
  if (!(await controlled())) {
    // clients.claim() in `activate` normally takes the page over; wait a
    // moment for it, then reload, which a ready worker always controls.
    try {
      await page.waitForFunction(() => Boolean(navigator.serviceWorker.controller), null, { timeout: 2_000 })
    } catch {
      await page.reload()
    }
  }
  await page.waitForFunction(() => Boolean(navigator.serviceWorker.controller), null, { timeout })
}

/// Runs `fn` timed; logs "label: N ms" for the report.
export async function timed (label, fn) {
  const start = performance.now()
  try {
    return await fn()
  } finally {
    console.log(`${label}: ${Math.round(performance.now() - start)} ms`)
  }
}

/// How many changes the sync status line says are waiting (0 if none).
export async function waitingCount (page) {
  const text = await page.locator(selectors.syncStatus).textContent()
  const match = /(\d+) changes? waiting to sync/.exec(text ?? '')
  return match ? Number(match[1]) : 0
}

/// Runs `fn`; if it throws, saves a screenshot of each page to
/// test-artifacts/screenshots/failed-NAME-*.png and prints the server's
/// last log lines, then rethrows.
export async function onFailure (name, { pages = {}, server } = {}, fn) {
  try {
    return await fn()
  } catch (e) {
    for (const [label, page] of Object.entries(pages)) {
      try {
        const file = await screenshot(page, `failed-${name}-${label}`)
        console.error(`screenshot: ${file}`)
        if (page.errors?.length) console.error(`${label} page errors:\n${page.errors.join('\n')}`)
      } catch {}
    }
    if (server) console.error(`server log (last lines):\n${server.logText()}`)
    throw e
  }
}

/// Waits for the overview's first tile to count every demo action (plans
/// arrive one by one, so it counts up while they sync).
export async function waitForOverviewTotal (page, { timeout = 30_000 } = {}) {
  try {
    await page.waitForFunction(
      (total) => document.querySelector('.plait-tile__number')?.textContent.trim() === total,
      String(DEMO_ACTIONS),
      { timeout, polling: 50 }
    )
  } catch (e) {
    const shown = await page.locator('.plait-tile__number').first().textContent({ timeout: 1000 }).catch(() => '(no tile)')
    throw new Error(`the overview never counted ${DEMO_ACTIONS} actions within ${timeout} ms; it shows ${JSON.stringify(shown)}`)
  }
}


const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']
let axeSource = null

/// Runs axe-core (WCAG 2.0/2.1 A and AA, 2.2 AA) on `page` as it is;
/// returns the violations, and prints each (id, impact, help, target nodes
/// and what to fix).
export async function runAxe (page, label) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    axeSource ??= fs.readFileSync(path.join(repoRoot, 'tools/node_modules/axe-core/axe.min.js'), 'utf8')
    // Not a <script> tag: the server's CSP forbids inline scripts, and
    // DevTools' evaluation is not subject to it.
    await page.evaluate(`${axeSource}\n;0`)
  }
  const results = await page.evaluate((tags) => window.axe.run(document, { runOnly: tags }), AXE_TAGS)
  const report = results.violations.map((v) =>
    `${label}: ${v.id} (${v.impact}): ${v.help} <${v.helpUrl}>\n` +
    v.nodes.map((n) => `    ${n.target.join(' ')}\n      ${n.failureSummary.replace(/\n/g, '\n      ')}`).join('\n'))
  if (report.length) console.log(`axe violations on ${label}:\n${report.join('\n')}`)
  assert.ok(results.passes.length > 0, `axe ran its rules on ${label}`)
  return { violations: results.violations, report }
}

/// Fails with axe's report when it found anything.
export function assertNothingSerious (label, { violations, report }) {
  assert.deepEqual(
    violations.map((v) => `${v.id} (${v.impact}) on ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `axe violations on ${label}:\n${report.join('\n')}`
  )
}

/// The demo programme as the server holds it: its meetings, and every
/// action of its plans (`{ plan, id, json }`), read as the programme office.
export async function demoState (server) {
  const { token } = await apiSignIn(server, 'programme.office')
  const programme = await fetchDoc(server, token, 'demo')
  const actions = []
  const findings = []
  for (const plan of programme.getMap('plans').keys()) {
    const doc = await fetchDoc(server, token, plan)
    for (const [id, action] of doc.getMap('actions').entries()) actions.push({ plan, id, json: action.toJSON() })
    for (const id of doc.getMap('findings').keys()) findings.push({ plan, id })
  }
  return { token, meetings: programme.getMap('meetings').toJSON(), actions, findings }
}

/// The path of every page of the demo programme, with a real action,
/// finding, committee meeting and board meeting (read from the server's
/// documents, not from the pages).
export async function everyDemoPage (server) {
  const { meetings, actions: [action], findings: [finding] } = await demoState(server)
  const [committee] = Object.entries(meetings).find(([, m]) => m.forum_id !== 'board')
  const [board] = Object.entries(meetings).find(([, m]) => m.forum_id === 'board')
  return [
    '/p/demo/', '/p/demo/my-work', '/p/demo/actions', `/p/demo/actions/${action.plan}/${action.id}`,
    `/p/demo/findings/${finding.plan}/${finding.id}`, '/p/demo/warning-notice', '/p/demo/meetings',
    `/p/demo/meetings/${committee}`, `/p/demo/papers/${board}`, '/p/demo/report', '/p/demo/measures',
    '/p/demo/driver-diagrams', '/p/demo/root-causes', '/p/demo/exit-criteria',
    '/p/demo/setup', '/p/demo/import', '/p/demo/programmes'
  ]
}

/// Waits until the service worker's cache holds the release: index.html,
/// everything it names and every wasm chunk it lists. Returns how many
/// chunks the release has.
export async function waitForReleaseCached (page, { timeout = 60_000 } = {}) {
  const state = () => page.evaluate(async () => {
    const html = await (await fetch('/', { cache: 'no-store' })).text()
    const named = [...html.matchAll(/(?:href|src)="(\/[^"]+)"/g)].map((m) => m[1])
    const chunks = html.match(/<meta name="plait-chunks" content="([^"]*)"/)?.[1].split(' ') ?? []
    const cache = await caches.open('plait-shell-v1')
    const held = new Set((await cache.keys()).map((r) => new URL(r.url).pathname))
    return { count: chunks.length, missing: ['/', ...named, ...chunks].filter((u) => !held.has(u)) }
  })
  const cached = await eventually(async () => {
    const now = await state()
    return now.missing.length === 0 && now
  }, { timeout, message: 'the service worker caching every file and chunk of the release' })
  return cached.count
}

/// Whether the page scrolls sideways (its content wider than the window).
export function scrollsSideways (page) {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1)
}
