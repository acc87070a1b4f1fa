// Trunk post-build step (client/build/post-build.mjs), the last: writes a brotli (quality 11) and a gzip
// (level 9) copy beside every wasm, js and css file of the staging directory,
// so the server sends them precompressed by Content-Encoding negotiation
// (tower-http's ServeDir) instead of compressing on every request.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'

const dir = process.env.TRUNK_STAGING_DIR
if (!dir) {
  console.error('compress: TRUNK_STAGING_DIR is not set (run by trunk as a post_build hook)')
  process.exit(2)
}
let raw = 0
let br = 0
let gz = 0
for (const name of fs.readdirSync(dir).filter((f) => /\.(wasm|js|css)$/.test(f))) {
  const file = path.join(dir, name)
  const bytes = fs.readFileSync(file)
  const brotli = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length
    }
  })
  const gzip = zlib.gzipSync(bytes, { level: 9 })
  fs.writeFileSync(file + '.br', brotli)
  fs.writeFileSync(file + '.gz', gzip)
  raw += bytes.length
  br += brotli.length
  gz += gzip.length
}
const kib = (n) => (n / 1024).toFixed(1) + ' KiB'
console.error(`compress: ${kib(raw)} as ${kib(br)} brotli, ${kib(gz)} gzip`)
