// Trunk post-build hook. Trunk runs the hooks of one stage at the same time,
// and these three must run in order on its staging directory:
//
//   1. split-wasm.mjs: the wasm split into the main module and its chunks;
//   2. extract-loader.mjs: the inline loader moved to a file of its own;
//   3. compress.mjs: brotli and gzip copies of every asset.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
for (const step of ['split-wasm.mjs', 'extract-loader.mjs', 'compress.mjs']) {
  execFileSync(process.execPath, [path.join(here, step)], { stdio: 'inherit' })
}
