// The table of scripts/bench-peers: reads every SCENARIO-SERVER-ROUND.json
// of a results directory and prints, per measure, each server's value (the
// mean over rounds, each round in brackets), Plait's ratio to the peers and
// whether the goal of issue 21 is met.
import { readdirSync, readFileSync } from 'node:fs'

const dir = process.argv[2]
const servers = ['plait', 'ywebsocket', 'hocuspocus', 'ysweet']
const label = { plait: 'Plait', ywebsocket: 'y-websocket-server', hocuspocus: 'Hocuspocus', ysweet: 'y-sweet' }
const runs = {}
const loads = []
for (const file of readdirSync(dir).filter(f => f.endsWith('.json')).sort()) {
  const m = file.match(/^(c-js|[abc])-(\w+)-(\d+)\.json$/)
  if (!m) continue
  const report = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8'))
  const failed = (report.errors || []).length > 0 || report.error_count > 0
  ;((runs[m[1]] ??= {})[m[2]] ??= []).push({ metrics: report.metrics || {}, failed, errors: report.errors || [] })
  loads.push(report.load_average)
}

const mean = xs => xs.reduce((a, b) => a + b, 0) / xs.length
/** A server's value of a measure: the mean over rounds that did not fail. */
function value (scenario, server, f) {
  const rs = (runs[scenario]?.[server] || []).filter(r => !r.failed).map(r => f(r.metrics)).filter(v => Number.isFinite(v))
  return rs.length ? { mean: mean(rs), each: rs } : null
}
function failures (scenario, server) {
  return (runs[scenario]?.[server] || []).filter(r => r.failed).length
}
const fmt = v => v >= 100 ? Math.round(v).toLocaleString('en-GB') : v >= 10 ? v.toFixed(1) : v.toFixed(2)
function cell (scenario, server, f) {
  const v = value(scenario, server, f)
  const bad = failures(scenario, server)
  if (!v) return bad ? `failed (${bad})` : '—'
  const each = v.each.length > 1 ? ` (${v.each.map(fmt).join(', ')})` : ''
  return `${fmt(v.mean)}${each}${bad ? `; failed ${bad}` : ''}`
}

const measures = [
  ['a', 'fan-out p50 ms', m => m.fanout_p50_ms],
  ['a', 'fan-out p95 ms', m => m.fanout_p95_ms],
  ['a', 'fan-out p99 ms', m => m.fanout_p99_ms, 'low', 'p99 ≤ ½ × best peer', (p, peers) => p <= 0.5 * Math.min(...peers)],
  ['a', 'server CPU µs per update', m => m.server_cpu_us_per_update, 'low', '≤ ⅓ × y-websocket-server and < y-sweet', (p, _, v) => p <= v.ywebsocket / 3 && (v.ysweet === undefined || p < v.ysweet)],
  ['a', 'server peak RSS MB', m => m.server_rss_peak_mb, 'low', '≤ ¼ × y-websocket-server and < y-sweet', (p, _, v) => p <= v.ywebsocket / 4 && (v.ysweet === undefined || p < v.ysweet)],
  ['b', 'connect and sync ms', m => m.connect_sync_ms],
  ['b', 'server CPU s (all)', m => m.server_cpu_total_s],
  ['b', 'server CPU µs per update (all / 8,000)', m => m.server_cpu_total_s * 1e6 / m.updates_sent, 'low', '≤ ⅓ × y-websocket-server and < y-sweet', (p, _, v) => p <= v.ywebsocket / 3 && (v.ysweet === undefined || p < v.ysweet)],
  ['b', 'server peak RSS MB', m => m.server_rss_peak_mb],
  ['c', 'delivered/s (plait-bench)', m => m.delivered_per_s, 'high', '≥ 3 × y-websocket-server', (p, _, v) => p >= 3 * v.ywebsocket],
  ['c', 'server CPU µs per update', m => m.server_cpu_us_per_update, 'low', '≤ ⅓ × y-websocket-server and < y-sweet', (p, _, v) => p <= v.ywebsocket / 3 && (v.ysweet === undefined || p < v.ysweet)],
  ['c', 'server peak RSS MB', m => m.server_rss_peak_mb],
  ['c-js', 'delivered/s (Node clients)', m => m.delivered_per_s],
  ['c-js', 'fan-out p99 ms', m => m.fanout_p99_ms]
]

console.log(`| scenario | measure | ${servers.map(s => label[s]).join(' | ')} | Plait ÷ y-websocket-server | goal | met |`)
console.log(`|---|---|${servers.map(() => '---').join('|')}|---|---|---|`)
for (const [scenario, name, f, , goal, met] of measures) {
  if (!runs[scenario]) continue
  const v = {}
  for (const s of servers) { const x = value(scenario, s, f); if (x) v[s] = x.mean }
  const ratio = v.plait !== undefined && v.ywebsocket ? `× ${(v.plait / v.ywebsocket).toFixed(2)}` : ''
  let verdict = ''
  if (goal) {
    const peers = servers.slice(1).filter(s => v[s] !== undefined).map(s => v[s])
    verdict = v.plait === undefined || !peers.length || v.ywebsocket === undefined ? 'no result' : met(v.plait, peers, v) ? 'yes' : '**no**'
  }
  console.log(`| ${scenario} | ${name} | ${servers.map(s => cell(scenario, s, f)).join(' | ')} | ${ratio} | ${goal || ''} | ${verdict} |`)
}
console.log()
console.log(`Load average (1/5/15 min) at the start of each run: ${[...new Set(loads)].join('; ')}.`)
const errors = []
for (const [scenario, byServer] of Object.entries(runs)) {
  for (const [server, rs] of Object.entries(byServer)) {
    rs.forEach((r, i) => { if (r.failed) errors.push(`${scenario} ${label[server]} run ${i + 1}: ${r.errors.join(' | ').slice(0, 300)}`) })
  }
}
if (errors.length) {
  console.log()
  console.log('Failed runs (not in the means):')
  for (const e of errors) console.log(`- ${e}`)
}
