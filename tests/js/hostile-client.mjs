// A hostile member's device, driven by tests/e2e/attacks.rs: the npm `yjs`
// library (the same packages as ywebsocket-client.mjs, from
// tools/node_modules) over a raw WebSocket speaking y-websocket's sync
// messages, so that the test chooses exactly which updates are sent (a
// y-websocket provider would send every local change as it happens).
//
// Usage: node hostile-client.mjs
//
// Commands arrive on stdin, one JSON object a line, {id, op, ...}; each is
// answered on stdout with one JSON line {id, ok: true, ...} or
// {id, ok: false, error}. Diagnostics go to stderr. The ops:
//
//   connect {url, token, clientID?}: opens `url?token=…&durable=1` (durable
//     acknowledgements, message 100, so every update gets an answer), with a
//     new Y.Doc whose client id is `clientID` when given (kept even when the
//     server's state holds items under it, which Yjs would otherwise take as
//     a clash and change), and syncs: answers the server's first sync step 1
//     and waits for the step 2 that answers its own and for the server's
//     acknowledgement of its step 2. Later sync step 1s are recorded, not
//     answered: a hostile device sends only what it chooses.
//   attack {name, args}: runs ATTACKS[name] (below), which edits the local
//     document and sends chosen updates; answers {answers: [...]}, one per
//     update sent: {answer: "ack" | "incomplete" | "refused" | "closed",
//     notices: [MSG_REFUSED entries received meanwhile], sv?}.
//   ping: sends sync step 1 and waits for the server's step 2, proving the
//     connection is open and served; answers {closed}.
//   waitText {root, needle}: waits until the root map `root`, as JSON,
//     contains the string `needle` (an edit from someone else arrived).
//
// The packages come from tools/node_modules (scripts/setup installs them;
// lib0 comes with yjs).

import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import readline from 'node:readline'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.resolve(here, '../../tools/package.json'))
const Y = require('yjs')
const encoding = require('lib0/encoding')
const decoding = require('lib0/decoding')
const WebSocket = require('ws')

// Plait's own message types (server/src/registry.rs).
const MSG_SYNC = 0
const MSG_AWARENESS = 1
const MSG_DURABLE = 100
const MSG_REFUSED = 101
const STEP1 = 0
const STEP2 = 1
const UPDATE = 2

// How long one op may wait for the server; the Rust side waits longer.
const OP_TIMEOUT_MS = 10_000

const log = (...args) => console.error('[hostile]', ...args)
// stdout carries the answers only: Yjs's own messages (such as its notice
// that it changed a clashing client id) go to stderr with the diagnostics.
console.log = console.error
console.warn = console.error

let doc = null
let ws = null
let pinned = null
let closed = null
let greeted = false
let lastStep1 = null
// Everything received, in order: {kind, ...}.
const events = []
let wake = () => {}

function waitFor (what, predicate) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      wake = () => {}
      reject(new Error(`timed out waiting for ${what}`))
    }, OP_TIMEOUT_MS)
    const check = () => {
      let found
      try {
        found = predicate()
      } catch (e) {
        clearTimeout(timer)
        wake = () => {}
        reject(e)
        return
      }
      if (found !== undefined) {
        clearTimeout(timer)
        wake = () => {}
        resolve(found)
      }
    }
    wake = check
    check()
  })
}

function frame (write) {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

function sendSync (sub, payload) {
  ws.send(frame((e) => {
    encoding.writeVarUint(e, MSG_SYNC)
    encoding.writeVarUint(e, sub)
    encoding.writeVarUint8Array(e, payload)
  }))
}

function onMessage (data) {
  const message = new Uint8Array(data)
  const decoder = decoding.createDecoder(message)
  const type = decoding.readVarUint(decoder)
  if (type === MSG_SYNC) {
    const sub = decoding.readVarUint(decoder)
    const payload = decoding.readVarUint8Array(decoder)
    if (sub === STEP1) {
      lastStep1 = payload
      events.push({ kind: 'step1' })
      if (!greeted) {
        greeted = true
        sendSync(STEP2, Y.encodeStateAsUpdate(doc, payload))
      }
    } else {
      Y.applyUpdate(doc, payload, 'server')
      if (pinned !== null) doc.clientID = pinned
      events.push({ kind: sub === STEP2 ? 'step2' : 'update', size: payload.length })
    }
  } else if (type === MSG_AWARENESS) {
    events.push({ kind: 'awareness' })
  } else if (type === MSG_DURABLE) {
    const sv = Y.decodeStateVector(decoding.readVarUint8Array(decoder))
    events.push({ kind: 'ack', sv: Object.fromEntries([...sv].map(([c, k]) => [String(c), k])) })
  } else if (type === MSG_REFUSED) {
    // shared::protocol::Refusals: {changes: [{change, reason}], whole?}.
    const refusals = JSON.parse(new TextDecoder().decode(decoding.readVarUint8Array(decoder)))
    const notices = refusals.changes || []
    if (refusals.whole !== undefined) notices.push({ whole: true, reason: refusals.whole })
    events.push({ kind: 'refused', notices })
  } else {
    events.push({ kind: `type-${type}` })
  }
  wake()
}

// Sends `update` as a y-websocket update message and waits for the server's
// answer to it: a durable acknowledgement, a sync step 1 (it lacks
// something the update depends on), a refusal of the whole update, or the
// connection's end.
async function send (update) {
  const from = events.length
  sendSync(UPDATE, update)
  return waitFor('the answer to an update', () => {
    const notices = []
    for (let i = from; i < events.length; i++) {
      const event = events[i]
      if (event.kind === 'refused') {
        notices.push(...event.notices)
        if (event.notices.some((n) => n.whole)) {
          return { answer: 'refused', notices }
        }
      }
      if (event.kind === 'ack') return { answer: 'ack', notices, sv: event.sv }
      if (event.kind === 'step1') return { answer: 'incomplete', notices }
    }
    if (closed) return { answer: 'closed', notices, closed }
    return undefined
  })
}

// What the local document did since `sv` (an encoded state vector), as an
// update.
const since = (sv) => Y.encodeStateAsUpdate(doc, sv)
const sv = () => Y.encodeStateVector(doc)

function actionMap (id) {
  const action = doc.getMap('actions').get(id)
  if (!(action instanceof Y.Map)) throw new Error(`no action ${id} on this device`)
  return action
}

// Runs `edit` in one transaction and sends what it did as one update.
async function editAndSend (edit) {
  const before = sv()
  doc.transact(edit)
  return send(since(before))
}

// Each attack edits the local document and sends chosen updates; it returns
// the answers, one per update sent.
const ATTACKS = {
  // Sets field `field` of meeting `meeting` in the programme document to
  // `value` (a string, or a number or list to try the value's type), as
  // one update.
  async meetingField ({ meeting, field, value }) {
    const map = doc.getMap('meetings').get(meeting)
    if (!(map instanceof Y.Map)) throw new Error(`no meeting ${meeting} on this device`)
    return [await editAndSend(() => map.set(field, value))]
  },

  // Two updates whose items depend on clocks the server lacks, each sent
  // alone. (a) Two transactions on the synced document; only the second is
  // sent, so its items follow clocks (the first's) the server never got.
  // (b) From a second client id of this device, `planted` appended after
  // the item the lead's device will write next: the device writes that
  // item itself under the lead's client id `lead.client` (the same id as
  // the lead's, so the same item id), then the planted note after it, and
  // sends only the planted note. Kept pending, it would be integrated
  // inside the lead's next update, checked as the lead.
  async pendingItems ({ action, first, second, lead, planted }) {
    const updates = actionMap(action).get('updates')
    doc.transact(() => updates.push([first]))
    const middle = sv()
    doc.transact(() => updates.push([second]))
    const own = await send(since(middle))

    const mine = doc.clientID
    doc.clientID = lead.client
    doc.transact(() => updates.push([lead.entry]))
    const leads = sv()
    doc.clientID = (mine + 1) % 0x7fffffff
    doc.transact(() => updates.push([planted]))
    doc.clientID = mine
    const theirs = await send(since(leads))
    return [own, theirs]
  },

  // What Yjs sends when the server's sync step 1 arrives: everything the
  // server lacks, by the server's state vector.
  async answerLastStep1 () {
    if (!lastStep1) throw new Error('no sync step 1 received')
    return [await send(Y.encodeStateAsUpdate(doc, lastStep1))]
  },

  // A delete set naming clocks `clock..clock+len` of `client`, which the
  // server has not seen: built by Yjs itself, from a scratch document
  // writing and deleting that many characters under that client id.
  async pendingDeletes ({ client, clock, len }) {
    const scratch = new Y.Doc()
    scratch.clientID = client
    const t = scratch.getText('scratch')
    t.insert(0, 'x'.repeat(clock + len))
    t.delete(clock, len)
    const all = Y.encodeStateAsUpdate(scratch, Y.encodeStateVector(scratch))
    return [await send(all)]
  },

  // Replaces an action's map with an identical copy: every field, every
  // text's content and every log's entries.
  async replaceAction ({ action }) {
    const old = actionMap(action)
    return [await editAndSend(() => {
      const copy = new Y.Map()
      for (const [key, value] of old.entries()) {
        if (value instanceof Y.Text) {
          copy.set(key, new Y.Text(value.toString()))
        } else if (value instanceof Y.Array) {
          const entries = new Y.Array()
          entries.push(value.toArray())
          copy.set(key, entries)
        } else {
          copy.set(key, value)
        }
      }
      doc.getMap('actions').set(action, copy)
    })]
  },

  // Turns the evidence log into a text and the decisions log into a string.
  async retypeLogs ({ action }) {
    const map = actionMap(action)
    return [await editAndSend(() => {
      map.set('evidence', new Y.Text('not a log any more'))
      map.set('decisions', 'a string')
    })]
  },

  // Four updates outside the schema: a root of its own, a key an action
  // does not have, a key under `actions` that is no id, and an embed of
  // `embedBytes` bytes in the action's title.
  async outsideSchema ({ action, marker, embedBytes }) {
    const map = actionMap(action)
    const big = marker + 'x'.repeat(embedBytes)
    return [
      await editAndSend(() => doc.getMap('junk').set('k', `${marker} junk root`)),
      await editAndSend(() => map.set('colour', `${marker} extra key`)),
      await editAndSend(() => {
        const m = new Y.Map()
        doc.getMap('actions').set('not an id!', m)
        m.set('note', `${marker} not an id`)
      }),
      await editAndSend(() => map.get('title').insertEmbed(0, { blob: big }))
    ]
  },

  // Puts `entry` into `log` of the action: at `index` when given (an
  // insert before the existing entries), else at the end.
  async insertEntry ({ action, log, entry, index }) {
    const entries = actionMap(action).get(log)
    return [await editAndSend(() => {
      if (index === undefined || index === null) entries.push([entry])
      else entries.insert(index, [entry])
    })]
  },

  // Adds entity `key` under the root map `root` as a map of `fields` (or,
  // when it is there, sets those fields on it), as one update; with
  // `remove`, removes it instead.
  async entity ({ root, key, fields = {}, remove = false }) {
    return [await editAndSend(() => {
      const map = doc.getMap(root)
      if (remove) {
        map.delete(key)
        return
      }
      let entity = map.get(key)
      if (!(entity instanceof Y.Map)) {
        entity = new Y.Map()
        map.set(key, entity)
      }
      for (const [field, value] of Object.entries(fields)) entity.set(field, value)
    })]
  },

  // `count` edits of the action's title, one update each, sent in one
  // burst (none waits for an answer, so the server reads them together);
  // the answers, one per update, once all have come. Each update's refusal
  // comes before its acknowledgement, but acknowledgements wait for the
  // flush, so a burst's refusals come first, in order: the k-th refusal
  // (MSG_REFUSED message) is the k-th update's.
  async burst ({ action, count, text }) {
    const title = actionMap(action).get('title')
    const from = events.length
    for (let i = 0; i < count; i++) {
      const before = sv()
      doc.transact(() => title.insert(0, `${text} ${i} `))
      sendSync(UPDATE, since(before))
    }
    return waitFor(`the answers to a burst of ${count}`, () => {
      const refusals = []
      const acks = []
      for (let i = from; i < events.length; i++) {
        const event = events[i]
        if (event.kind === 'refused') refusals.push(event.notices)
        if (event.kind === 'ack') acks.push(event)
        if (event.kind === 'step1') acks.push({ incomplete: true })
      }
      const answers = acks.map((ack, k) => ack.incomplete
        ? { answer: 'incomplete', notices: refusals[k] ?? [] }
        : { answer: 'ack', notices: refusals[k] ?? [], sv: ack.sv })
      if (answers.length >= count) return answers
      if (closed) return [...answers, { answer: 'closed', notices: [], closed }]
      return undefined
    })
  },

  // Sets `key` of the root map `root` (a programme's headline facts).
  async setRootField ({ root, key, value }) {
    return [await editAndSend(() => doc.getMap(root).set(key, value))]
  },

  // Malformed items in a plan, one update each: a log entry that is not an
  // object, a number where the title text is, a number as the owner.
  async malformed ({ action }) {
    const map = actionMap(action)
    return [
      await editAndSend(() => map.get('updates').push([42])),
      await editAndSend(() => map.set('title', 42)),
      await editAndSend(() => map.set('owner', 42))
    ]
  },

  // Updates that leave nothing new to read, each sent on its own:
  // characters typed and deleted in one transaction; an action map added
  // and removed again in one transaction (its content collected: a GC
  // struct); a log entry pushed and removed in one transaction; and a
  // delete-only update (no new clocks at all) removing one character the
  // importer wrote.
  async noVisibleChange ({ action }) {
    const map = actionMap(action)
    const title = map.get('title')
    return [
      await editAndSend(() => {
        title.insert(0, 'typed then deleted ')
        title.delete(0, 'typed then deleted '.length)
      }),
      await editAndSend(() => {
        const m = new Y.Map()
        doc.getMap('actions').set(`${action}-ghost`, m)
        m.set('note', 'collected')
        doc.getMap('actions').delete(`${action}-ghost`)
      }),
      await editAndSend(() => {
        const updates = map.get('updates')
        updates.push([{ id: 'ghost-note', text: 'gone', by: 'x', at: Date.now() }])
        updates.delete(updates.length - 1, 1)
      }),
      await editAndSend(() => title.delete(title.length - 1, 1))
    ]
  }
}

async function handle (command) {
  switch (command.op) {
    case 'connect': {
      doc = new Y.Doc()
      if (command.clientID !== undefined && command.clientID !== null) {
        pinned = command.clientID
        doc.clientID = pinned
      }
      const join = command.url.includes('?') ? '&' : '?'
      const url = `${command.url}${join}token=${encodeURIComponent(command.token)}&durable=1`
      ws = new WebSocket(url)
      ws.binaryType = 'arraybuffer'
      ws.on('message', onMessage)
      ws.on('close', (code, reason) => {
        closed = { code, reason: String(reason) }
        log('closed', JSON.stringify(closed))
        wake()
      })
      ws.on('error', (e) => log('socket error', e?.message ?? String(e)))
      await waitFor('the socket to open', () => {
        if (closed) throw new Error(`closed before opening: ${JSON.stringify(closed)}`)
        return ws.readyState === WebSocket.OPEN ? true : undefined
      })
      sendSync(STEP1, sv())
      // The server's step 2, and its acknowledgement of this device's own
      // step 2 (an update like any other), so that no answer of the sync
      // is taken for the answer to a later update.
      await waitFor('the initial sync', () => {
        if (closed) throw new Error(`closed while syncing: ${JSON.stringify(closed)}`)
        const synced = events.some((e) => e.kind === 'step2') && events.some((e) => e.kind === 'ack')
        return synced ? true : undefined
      })
      return { clientID: doc.clientID }
    }
    case 'attack': {
      const attack = ATTACKS[command.name]
      if (!attack) throw new Error(`no attack ${command.name}`)
      return { answers: await attack(command.args ?? {}) }
    }
    case 'ping': {
      const from = events.length
      sendSync(STEP1, sv())
      await waitFor('the answer to sync step 1', () => {
        if (closed) return true
        return events.slice(from).some((e) => e.kind === 'step2') ? true : undefined
      })
      return { closed }
    }
    case 'waitText': {
      // Until the root map `root`, as JSON, contains `needle`.
      const has = () => JSON.stringify(doc.getMap(command.root).toJSON()).includes(command.needle)
      await waitFor(`${JSON.stringify(command.needle)} in ${command.root}`, () => {
        if (has()) return true
        if (closed) throw new Error(`closed: ${JSON.stringify(closed)}`)
        return undefined
      })
      return {}
    }
    default:
      throw new Error(`unknown op ${command.op}`)
  }
}

const lines = readline.createInterface({ input: process.stdin })
// One command at a time, in order.
let queue = Promise.resolve()
lines.on('line', (line) => {
  if (!line.trim()) return
  queue = queue.then(async () => {
    let command
    try {
      command = JSON.parse(line)
    } catch (e) {
      process.stdout.write(JSON.stringify({ id: null, ok: false, error: `bad command: ${e}` }) + '\n')
      return
    }
    try {
      const result = await handle(command)
      process.stdout.write(JSON.stringify({ id: command.id, ok: true, ...result }) + '\n')
    } catch (e) {
      log(`op ${command.op} failed:`, e?.stack ?? String(e))
      process.stdout.write(JSON.stringify({ id: command.id, ok: false, error: String(e?.message ?? e) }) + '\n')
    }
  })
})
lines.on('close', () => {
  queue.then(() => {
    if (ws) ws.terminate()
    process.exit(0)
  })
})
