// The standard npm Yjs client (yjs + y-websocket, on Node with `ws`) against
// the Plait server, driven by tests/e2e/ywebsocket.rs.
//
// Usage: node ywebsocket-client.mjs ws://HOST/sync ROOM TOKEN
//
// TOKEN is a Plait session token, passed as `?token=` (the provider's
// `params`): browsers' WebSocket API cannot set headers, so Yjs clients
// authenticate this way.
//
// Syncs, announces itself in awareness as `node-client`, writes
// "hello from yjs" to the text `t`, then waits until the text contains
// "hello from rust" and awareness shows a remote client (named by the server
// after its session). Prints one
// JSON line {"text": ..., "names": [...]} and exits 0; exits 1 on a timeout
// or an error, 2 on bad arguments.
//
// The packages come from tools/node_modules (scripts/setup installs them).

import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const TIMEOUT_MS = 15_000

// The packages live in tools/node_modules, which is not on this file's
// resolution path: resolve them from tools/. All three are loaded through
// `require` (their published CommonJS builds), so y-websocket and this
// script share one instance of yjs.
const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.resolve(here, '../../tools/package.json'))
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')

const [url, room, token] = process.argv.slice(2)
if (!url || !room || !token) {
  console.error('usage: node ywebsocket-client.mjs ws://HOST/sync ROOM TOKEN')
  process.exit(2)
}

const log = (...args) => console.error('[node-client]', ...args)

const doc = new Y.Doc()
const provider = new WebsocketProvider(url, room, doc, {
  WebSocketPolyfill: WebSocket,
  params: { token },
  // One process, no other tabs: keep the run to the WebSocket alone.
  disableBc: true,
  // Do not hide a closed connection behind quick reconnects: the test
  // counts them.
  maxBackoffTime: 500
})

const closes = []
provider.on('connection-close', (event) => {
  const closed = event ? { code: event.code, reason: String(event.reason ?? '') } : null
  closes.push(closed)
  log('connection closed', JSON.stringify(closed))
})
provider.on('connection-error', (event) => {
  log('connection error', event?.message ?? String(event))
})

const text = doc.getText('t')

function remoteNames () {
  const names = []
  for (const [clientId, state] of provider.awareness.getStates()) {
    if (clientId !== doc.clientID && state?.user?.name) {
      names.push(state.user.name)
    }
  }
  return names
}

function fail (why) {
  log(`FAILED: ${why}; text=${JSON.stringify(text.toString())} names=${JSON.stringify(remoteNames())} closes=${JSON.stringify(closes)}`)
  process.exit(1)
}

const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS)

try {
  await new Promise((resolve) => {
    if (provider.synced) return resolve()
    const onSync = (synced) => {
      if (synced) {
        provider.off('sync', onSync)
        resolve()
      }
    }
    provider.on('sync', onSync)
  })
  log('synced')
  provider.awareness.setLocalState({ user: { name: 'node-client' } })
  text.insert(text.length, 'hello from yjs')

  await new Promise((resolve) => {
    const check = () => {
      // The server names every presence by its session (issue 13), not by
      // what the client wrote: any remote name will do.
      if (text.toString().includes('hello from rust') && remoteNames().length > 0) {
        text.unobserve(check)
        provider.awareness.off('change', check)
        resolve()
      }
    }
    text.observe(check)
    provider.awareness.on('change', check)
    check()
  })
} catch (e) {
  fail(e?.stack ?? String(e))
}

clearTimeout(timer)
const result = { text: text.toString(), names: remoteNames(), closes: closes.length }
provider.destroy()
process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0))
