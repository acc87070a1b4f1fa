// Trunk post-build hook: moves the inline module script that Trunk writes
// into index.html (the wasm loader) into its own content-hashed file, so the
// server's Content-Security-Policy can forbid inline scripts outright
// (`script-src 'self'`). Trunk runs it with TRUNK_STAGING_DIR set.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

const dir = process.env.TRUNK_STAGING_DIR
if (!dir) {
  console.error('extract-loader: TRUNK_STAGING_DIR is not set (run by trunk as a post_build hook)')
  process.exit(2)
}
const indexPath = path.join(dir, 'index.html')
let html = fs.readFileSync(indexPath, 'utf8')
const inline = /<script type="module">([\s\S]*?)<\/script>/g
let moved = 0
html = html.replace(inline, (_, body) => {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16)
  const name = `boot-${hash}.js`
  fs.writeFileSync(path.join(dir, name), body)
  const integrity = 'sha384-' + createHash('sha384').update(body).digest('base64')
  moved += 1
  return `<script type="module" src="/${name}" integrity="${integrity}"></script>`
})
if (/<script(?![^>]*\bsrc=)[^>]*>/.test(html)) {
  console.error('extract-loader: an inline script is left in index.html')
  process.exit(1)
}
fs.writeFileSync(indexPath, html)
console.error(`extract-loader: moved ${moved} inline script(s) out of index.html`)
