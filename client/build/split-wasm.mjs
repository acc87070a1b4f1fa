// Trunk post-build step (client/build/post-build.mjs), the first: splits the client's wasm into the part every visit
// needs and the chunks that load on first use (issue 18).
//
// The client marks its split points with `wasm_split` (client/src/chunks.rs).
// Trunk has built the wasm (linked with `--emit-relocs`, .cargo/config.toml),
// run wasm-bindgen and wasm-opt on it; this hook starts again from the
// linked wasm, as cargo-leptos does:
//
//   1. `wasm-split-cli` (patched: client/build/wasm-split-cli.patch) cuts it
//      into the main module, one module per split module name and a few
//      shared chunks (GROUPING, below), and writes the link module
//      (`__wasm_split.js`) that fetches a chunk when its function is called;
//   2. wasm-bindgen runs on the main module (keeping the exports the chunks
//      import), wasm-opt on every module (release builds);
//   3. every file is named with a hash of what it holds and replaces trunk's
//      single wasm and js in the staging directory; index.html's script,
//      preloads and their integrity follow, and a `plait-chunks` meta element
//      lists the chunks for the service worker to cache.
//
// The main js imports the link module and the link module imports the main
// js, so neither hash can include the other's name: both are named after one
// hash over the main js, the link module (holding the chunks' hashed names)
// and the main wasm.
import { createHash } from 'node:crypto'
import { execFileSync, execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const NAME = 'plait-client'
// How shared code is grouped into files (options of the patched splitter;
// BENCHMARKS.md has the measurements of others). The frame (`signed_in`) is
// always loaded before any page: what it shares goes into it, and every
// page's loader waits for it. Code nine or more of the eleven modules need
// goes into the main module (the sign-in page grows by it, within its
// target; the frame and every page shrink). A chunk of less than 10,000
// bytes of code is folded into the smallest larger chunk that every module
// needing it loads, or else into the frame. Unpatched, this made 220 files.
// PLAIT_SPLIT_GROUPING overrides it, for measuring others.
const GROUPING = (process.env.PLAIT_SPLIT_GROUPING ?? '--preloaded signed_in --fold-below 10000 --main-shared-by 9').split(' ').filter(Boolean)
const LINK = '__wasm_split.js'

const staging = process.env.TRUNK_STAGING_DIR
if (!staging) {
  console.error('split-wasm: TRUNK_STAGING_DIR is not set (run by trunk as a post_build hook)')
  process.exit(2)
}
const release = process.env.TRUNK_PROFILE === 'release'
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')
const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(root, process.env.CARGO_TARGET_DIR)
  : path.join(root, 'target')

// The linked wasm trunk has just built, in the cargo profile client/index.html
// names (trunk uses `data-cargo-profile` for release and debug builds alike).
const page = fs.readFileSync(path.join(root, 'client/index.html'), 'utf8')
const named = page.match(/data-cargo-profile="([^"]+)"/)?.[1]
const profile = named === 'dev' || (!named && !release) ? 'debug' : (named ?? 'release')
const linked = path.join(targetDir, 'wasm32-unknown-unknown', profile, `${NAME}.wasm`)
if (!fs.existsSync(linked)) {
  console.error(`split-wasm: no linked ${linked}`)
  process.exit(1)
}

const work = path.join(targetDir, 'wasm-split')
fs.rmSync(work, { recursive: true, force: true })
const split = path.join(work, 'split')
const bound = path.join(work, 'bound')
fs.mkdirSync(split, { recursive: true })
fs.mkdirSync(bound, { recursive: true })

const run = (command, args) => execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] })
const hex = (...parts) => {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex').slice(0, 16)
}
const integrity = (bytes) => 'sha384-' + createHash('sha384').update(bytes).digest('base64')
// wasm-opt on several modules at once, one per core.
const optimiseAll = async (pairs) => {
  const queue = [...pairs]
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [input, output] = next
      if (release) await promisify(execFile)('wasm-opt', [`--output=${output}`, '-Oz', input])
      else fs.copyFileSync(input, output)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, os.availableParallelism()) }, worker))
}

// 1. Split.
run('wasm-split-cli', [linked, split, '--out-name', NAME, ...GROUPING])
const linkPath = path.join(split, LINK)
if (!fs.existsSync(linkPath)) {
  console.error('split-wasm: wasm-split-cli wrote no link module')
  process.exit(1)
}

// 2. The main module through wasm-bindgen (keeping the exports the chunks
// import); then every module optimised.
run('wasm-bindgen', [
  '--target=web', '--keep-lld-exports', '--no-demangle', '--no-typescript',
  `--out-name=${NAME}`, `--out-dir=${bound}`, path.join(split, `${NAME}.wasm`)
])
const chunkFiles = fs.readdirSync(split).filter((f) => f.endsWith('.wasm') && f !== `${NAME}.wasm`).sort()
const mainWasmPath = path.join(work, `${NAME}_bg.wasm`)
await optimiseAll([
  [path.join(bound, `${NAME}_bg.wasm`), mainWasmPath],
  ...chunkFiles.map((file) => [path.join(split, file), path.join(work, file)])
])

// 3. Chunks named by their hash; the link module follows.
let link = fs.readFileSync(linkPath, 'utf8')
const chunks = []
for (const file of chunkFiles) {
  const stem = file.slice(0, -'.wasm'.length)
  const optimised = path.join(work, file)
  const bytes = fs.readFileSync(optimised)
  const name = `${stem}-${hex(bytes)}.wasm`
  fs.writeFileSync(path.join(staging, name), bytes)
  const quoted = `"./${file}"`
  if (!link.includes(quoted)) {
    console.error(`split-wasm: the link module does not load ${file}`)
    process.exit(1)
  }
  link = link.replaceAll(quoted, `"./${name}"`)
  chunks.push(name)
}

// 4. The main module and its js, named after one hash (see the top).
const mainWasm = fs.readFileSync(mainWasmPath)
let mainJs = fs.readFileSync(path.join(bound, `${NAME}.js`), 'utf8')

const hash = hex(mainJs, link, mainWasm)
const mainJsName = `${NAME}-${hash}.js`
const mainWasmName = `${NAME}-${hex(mainWasm)}_bg.wasm`
const linkName = `__wasm_split-${hash}.js`
if (!mainJs.includes(`from "./${LINK}"`) || !link.includes(`from "./${NAME}.js"`)) {
  console.error('split-wasm: the main js and the link module do not name each other as expected')
  process.exit(1)
}
// Only the js imports change: the wasm still names its import module
// "./__wasm_split.js", the key of the imports object the main js builds.
mainJs = mainJs.replaceAll(`from "./${LINK}"`, `from "./${linkName}"`)
link = link.replaceAll(`from "./${NAME}.js"`, `from "./${mainJsName}"`)

// 5. Trunk's single wasm and js are replaced.
let html = fs.readFileSync(path.join(staging, 'index.html'), 'utf8')
const trunkJs = fs.readdirSync(staging).find((f) => f.startsWith(`${NAME}-`) && f.endsWith('.js'))
const trunkWasm = fs.readdirSync(staging).find((f) => f.startsWith(`${NAME}-`) && f.endsWith('_bg.wasm'))
if (!trunkJs || !trunkWasm || !html.includes(`/${trunkJs}`) || !html.includes(`/${trunkWasm}`)) {
  console.error('split-wasm: trunk\'s wasm and js are not where index.html says')
  process.exit(1)
}
fs.rmSync(path.join(staging, trunkJs))
fs.rmSync(path.join(staging, trunkWasm))
fs.writeFileSync(path.join(staging, mainJsName), mainJs)
fs.writeFileSync(path.join(staging, mainWasmName), mainWasm)
fs.writeFileSync(path.join(staging, linkName), link)

// 6. index.html: the new names, their integrity, the link module preloaded
// (the main js imports it: without the preload it would cost a round trip),
// and the chunks listed for the service worker.
const withIntegrity = (tag, bytes) => tag.replace(/integrity="[^"]*"/, `integrity="${integrity(bytes)}"`)
html = html.replace(/<link rel="modulepreload"[^>]*>/, (tag) =>
  withIntegrity(tag.replace(`/${trunkJs}`, `/${mainJsName}`), mainJs) +
  `<link rel="modulepreload" href="/${linkName}" crossorigin="anonymous" integrity="${integrity(link)}">`)
html = html.replace(/<link rel="preload"[^>]*as="fetch"[^>]*>/, (tag) =>
  withIntegrity(tag.replace(`/${trunkWasm}`, `/${mainWasmName}`), mainWasm))
html = html.replaceAll(`/${trunkJs}`, `/${mainJsName}`).replaceAll(`/${trunkWasm}`, `/${mainWasmName}`)
html = html.replace('</head>',
  `<meta name="plait-chunks" content="${chunks.map((c) => '/' + c).join(' ')}">\n</head>`)
fs.writeFileSync(path.join(staging, 'index.html'), html)

const kib = (n) => (n / 1024).toFixed(1) + ' KiB'
const chunkBytes = chunks.reduce((n, c) => n + fs.statSync(path.join(staging, c)).size, 0)
console.error(`split-wasm: main ${kib(mainWasm.length)}, ${chunks.length} chunks ${kib(chunkBytes)} (uncompressed)`)
