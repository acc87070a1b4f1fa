// The same load, from real Yjs clients, against any Yjs server
// (scripts/bench-peers, BENCHMARKS.md "Against other Yjs servers").
//
// Every client is what a Yjs application runs: a Y.Doc, one WebSocket, the
// provider of its server (y-websocket's WebsocketProvider for Plait, the
// reference server and y-sweet; Hocuspocus's own for Hocuspocus), awareness
// on (a local state set, as an editor shows who is here). All clients run
// in this one Node process, so every server is measured with the same
// client costs.
//
// Every edit sets one entry of the root map `edits` (`SENDER:SEQ` →
// `MICROS:16 bytes`), like plait-bench's. A receiver sees the entry appear
// and knows its age; *fan-out* is, per edit, the time until the last other
// client of the document has it.
//
//   node load.mjs --kind ywebsocket --server ws://127.0.0.1:1234 \
//     --docs 1 --clients 50 --updates 50 --rate 2 --pid 1234 --json out.json
//
// Options: --kind ywebsocket|hocuspocus, --server URL (the provider's
// server URL: the room is appended), --param k=v (URL parameters, e.g. a
// token), --docs, --clients, --updates, --rate (updates/s per client, 0 =
// unpaced), --prefix (document names PREFIX-0…), --pid (the server's, for
// its CPU and memory from /proc; repeatable), --time-limit (s), --name,
// --json FILE.
//
// It exits non-zero when a client failed to sync, an edit did not reach
// every other client, or the clients of a document did not end identical.

import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { readFileSync, writeFileSync } from 'node:fs'
import { execSync } from 'node:child_process'

const args = { kind: 'ywebsocket', server: '', params: {}, docs: 1, clients: 2, updates: 10, rate: 0, prefix: 'bench', pids: [], timeLimit: 120, name: 'run', json: null, updateBytes: 16 }
{
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]
    const value = argv[++i]
    switch (key) {
      case '--kind': args.kind = value; break
      case '--server': args.server = value; break
      case '--param': { const [k, v] = value.split('='); args.params[k] = v; break }
      case '--docs': args.docs = Number(value); break
      case '--clients': args.clients = Number(value); break
      case '--updates': args.updates = Number(value); break
      case '--rate': args.rate = Number(value); break
      case '--prefix': args.prefix = value; break
      case '--pid': args.pids.push(value); break
      case '--time-limit': args.timeLimit = Number(value); break
      case '--name': args.name = value; break
      case '--json': args.json = value; break
      case '--update-bytes': args.updateBytes = Number(value); break
      default: throw new Error(`unknown option ${key}`)
    }
  }
}

// Every client's WebSocket adds an exit listener.
process.setMaxListeners(0)

const nowUs = () => Math.round(performance.now() * 1000)
const ticks = Number(execSync('getconf CLK_TCK').toString().trim()) || 100

/** The summed CPU (µs), RSS and peak RSS (KiB) of the server's processes. */
function sample () {
  let cpu = 0; let rss = 0; let hwm = 0
  for (const pid of args.pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    cpu += (Number(fields[11]) + Number(fields[12])) * 1e6 / ticks
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = name => Number((status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm')) || [0, 0])[1])
    rss += field('VmRSS'); hwm += field('VmHWM')
  }
  return { cpu, rss, hwm }
}

const percentile = (sorted, p) => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p / 100 * sorted.length))) - 1]
const ms = us => Math.round(us) / 1000

const report = { name: args.name, kind: args.kind, server: args.server, load_average: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '), settings: { docs: args.docs, clients: args.clients, updates: args.updates, rate: args.rate }, metrics: {}, errors: [] }
const metric = (name, value) => { report.metrics[name] = value }

const deadline = setTimeout(() => {
  report.errors.push(`the time limit of ${args.timeLimit} s was exceeded`)
  finish(1)
}, args.timeLimit * 1000)

const padding = 'x'.repeat(args.updateBytes)
const clients = []
let done = null
let cpuEnd = null
// The peak memory measured is the load's: each server's high-water mark is
// reset as the load begins (writing 5 to /proc/PID/clear_refs), so neither
// its start-up nor the sign-in that gave the bench its token counts (Plait
// hashes a password with Argon2, 19 MiB, on start and at sign-in). The
// lifetime peak is kept in the report too.
const lifetime = args.pids.length ? sample() : null
if (lifetime) {
  metric('server_rss_lifetime_peak_before_mb', Math.round(lifetime.hwm / 102.4) / 10)
  metric('server_rss_start_mb', Math.round(lifetime.rss / 102.4) / 10)
  for (const pid of args.pids) {
    try { writeFileSync(`/proc/${pid}/clear_refs`, '5') } catch (e) { report.errors.push(`cannot reset the peak RSS of ${pid}: ${e.message}`) }
  }
}
const cpuStart = args.pids.length ? sample() : null
const started = nowUs()

/** One client: its document, provider and what arrived. */
function connect (docIndex, id) {
  const doc = new Y.Doc()
  const room = `${args.prefix}-${docIndex}`
  let provider
  if (args.kind === 'hocuspocus') {
    provider = new HocuspocusProvider({ url: args.server, name: room, document: doc, WebSocketPolyfill: WebSocket })
  } else {
    // disableBc: every client in this process would otherwise pass updates
    // to the others of its room through a BroadcastChannel, not the server.
    provider = new WebsocketProvider(args.server, room, doc, { WebSocketPolyfill: WebSocket, params: args.params, disableBc: true })
  }
  provider.awareness.setLocalStateField('user', { name: `bench ${id}`, color: '#005eb8' })
  const client = { id, docIndex, doc, provider, edits: doc.getMap('edits'), arrivals: [], syncedAt: null, sent: 0, firstSend: null, lastSend: 0 }
  client.edits.observe((event, txn) => {
    if (txn.local) return
    const at = nowUs()
    for (const [key, change] of event.changes.keys) {
      if (change.action !== 'add') continue
      const value = client.edits.get(key)
      const sent = Number(String(value).split(':')[0])
      client.arrivals.push({ key, latency: at - sent, at })
    }
  })
  client.synced = new Promise(resolve => {
    const done = () => { if (client.syncedAt === null) { client.syncedAt = nowUs(); resolve() } }
    if (args.kind === 'hocuspocus') provider.on('synced', done)
    else provider.on('sync', synced => { if (synced) done() })
  })
  clients.push(client)
  return client
}

for (let d = 0; d < args.docs; d++) {
  for (let c = 0; c < args.clients; c++) connect(d, d * args.clients + c)
}
await Promise.all(clients.map(c => c.synced))
const allSynced = nowUs()
const syncTimes = clients.map(c => c.syncedAt - started).sort((a, b) => a - b)
metric('clients', clients.length)
metric('connect_sync_ms', ms(allSynced - started))
metric('connect_sync_p50_ms', ms(percentile(syncTimes, 50)))
const cpuGo = args.pids.length ? sample() : null

const expected = (args.clients - 1) * args.updates
const period = args.rate > 0 ? 1e6 / args.rate : 0
const yieldNow = () => new Promise(resolve => setImmediate(resolve))
const sleepUntil = at => new Promise(resolve => setTimeout(resolve, Math.max(0, (at - nowUs()) / 1000)))

async function drive (client) {
  // Paced clients are spread over the period, as plait-bench spreads them.
  let next = nowUs() + (period ? period * ((client.id * 0.6180339887) % 1) : 0)
  for (let seq = 0; seq < args.updates; seq++) {
    if (period) { await sleepUntil(next); next += period } else await yieldNow()
    const now = nowUs()
    if (client.firstSend === null) client.firstSend = now
    client.edits.set(`${client.id}:${seq}`, `${now}:${padding}`)
    client.sent++
    client.lastSend = nowUs()
  }
  while (client.arrivals.length < expected) await new Promise(resolve => setTimeout(resolve, 5))
}
await Promise.all(clients.map(drive))
done = nowUs()
cpuEnd = args.pids.length ? sample() : null
finish(0)

function finish (code) {
  clearTimeout(deadline)
  const perEdit = new Map()
  const deliveries = []
  let lastArrival = 0
  for (const c of clients) {
    for (const a of c.arrivals) {
      deliveries.push(a.latency)
      lastArrival = Math.max(lastArrival, a.at)
      const key = `${c.docIndex}/${a.key}`
      const e = perEdit.get(key) || { max: 0, n: 0 }
      e.max = Math.max(e.max, a.latency); e.n++
      perEdit.set(key, e)
    }
  }
  const others = args.clients - 1
  const fanout = [...perEdit.values()].filter(e => e.n >= others).map(e => e.max).sort((a, b) => a - b)
  const sent = clients.reduce((s, c) => s + c.sent, 0)
  if (others > 0 && fanout.length < sent) report.errors.push(`${sent - fanout.length} edits did not reach every other client`)
  metric('updates_sent', sent)
  metric('deliveries', deliveries.length)
  for (const [name, p] of [['p50', 50], ['p95', 95], ['p99', 99], ['max', 100]]) metric(`fanout_${name}_ms`, ms(percentile(fanout, p)))
  const firstSend = Math.min(...clients.map(c => c.firstSend ?? Infinity))
  if (Number.isFinite(firstSend)) {
    const window = Math.max(1, Math.max(lastArrival, ...clients.map(c => c.lastSend)) - firstSend)
    metric('run_ms', ms(window))
    metric('delivered_per_s', Math.round(deliveries.length / (window / 1e6)))
  }
  // Convergence: every client of a document identical, with every edit.
  let diverged = 0
  for (let d = 0; d < args.docs; d++) {
    const mine = clients.filter(c => c.docIndex === d)
    const states = mine.map(c => Buffer.from(Y.encodeStateVector(c.doc)).toString('hex') + '/' + c.edits.size)
    const sizes = mine.map(c => c.edits.size)
    const same = mine.every(c => Y.encodeStateAsUpdate(c.doc).length > 0) && new Set(mine.map(c => JSON.stringify([...c.edits.entries()].sort()))).size === 1
    if (!same || sizes.some(s => s !== args.clients * args.updates)) {
      diverged++
      if (diverged <= 3) report.errors.push(`${args.prefix}-${d} differs: ${states.join('; ')}`)
    }
  }
  metric('docs_diverged', diverged)
  if (cpuStart) {
    const end = cpuEnd || sample()
    metric('server_cpu_total_s', (end.cpu - cpuStart.cpu) / 1e6)
    if (cpuGo && cpuEnd) {
      metric('server_cpu_run_s', (cpuEnd.cpu - cpuGo.cpu) / 1e6)
      if (sent > 0) metric('server_cpu_us_per_update', Math.round((cpuEnd.cpu - cpuGo.cpu) / sent))
    }
    metric('server_rss_end_mb', Math.round(end.rss / 102.4) / 10)
    metric('server_rss_peak_mb', Math.round(end.hwm / 102.4) / 10)
  }
  metric('total_ms', ms((done ?? nowUs()) - started))
  const usage = process.resourceUsage()
  metric('client_cpu_s', (usage.userCPUTime + usage.systemCPUTime) / 1e6)
  report.load_average_end = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const text = JSON.stringify(report, null, 1)
  if (args.json) writeFileSync(args.json, text)
  console.log(`${args.name}: ${JSON.stringify(report.metrics)}${report.errors.length ? ' ERRORS: ' + report.errors.join(' | ') : ''}`)
  for (const c of clients) c.provider.destroy()
  process.exit(code || (report.errors.length ? 1 : 0))
}
