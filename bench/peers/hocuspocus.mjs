// Hocuspocus (@hocuspocus/server) as it starts out of the box, in memory,
// on PORT (scripts/bench-peers).
import { Server } from '@hocuspocus/server'

const server = new Server({ port: Number(process.env.PORT || 1234), address: '127.0.0.1', quiet: true, stopOnSignals: true })
await server.listen()
console.log(`listening on ${process.env.PORT}`)
