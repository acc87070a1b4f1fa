// Trunk pre-build hook: writes client/gen/nhsuk-frontend.css, the NHS.UK
// frontend stylesheet with only the rules the client can use, which
// client/index.html links instead of the whole file (about a fifth of its
// size once gzipped: it was most of what a ward tablet downloaded).
//
// A rule is kept unless its selector names an `nhsuk-` class that appears
// nowhere in client/src/**/*.rs or client/index.html (so classes must be
// written out in full in the source, never assembled with format!). Classes
// inside :not(), :is(), :where() and :has() are not counted, so rules that
// still apply are kept. At-rules other than @media, @supports, @layer and
// @container (keyframes) are kept whole; fonts from another origin are
// dropped (nothing is fetched from anywhere but Plait's own server).
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const client = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const source = path.resolve(client, '../tools/node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css')
const output = path.join(client, 'gen/nhsuk-frontend.css')

function sources (dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) return sources(file)
    return entry.name.endsWith('.rs') ? [file] : []
  })
}

const used = new Set()
for (const file of [...sources(path.join(client, 'src')), path.join(client, 'index.html')]) {
  for (const [name] of fs.readFileSync(file, 'utf8').matchAll(/nhsuk-[a-z0-9_-]+/g)) used.add(name)
}

/// The top-level blocks of CSS text: rules, at-rules with a body, and
/// statements ending with `;`.
function blocks (text) {
  const out = []
  let start = 0
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end < 0 ? text.length : end + 1
      if (depth === 0) start = i + 1
    } else if (c === '{') {
      depth++
    } else if (c === '}') {
      depth--
      if (depth === 0) {
        out.push(text.slice(start, i + 1))
        start = i + 1
      }
    } else if (c === ';' && depth === 0) {
      out.push(text.slice(start, i + 1))
      start = i + 1
    }
  }
  return out
}

function applies (selector) {
  let plain = selector
  // Innermost functional pseudo-classes first, until none is left.
  for (let before = null; before !== plain;) {
    before = plain
    plain = plain.replace(/:(?:not|is|where|has)\([^()]*\)/g, '')
  }
  return (plain.match(/\.nhsuk-[\w-]+/g) ?? []).every((c) => used.has(c.slice(1)))
}

function purge (text) {
  return blocks(text).map((block) => {
    const open = block.indexOf('{')
    if (open < 0) return block
    const head = block.slice(0, open).trim()
    const body = block.slice(open + 1, -1)
    if (/^@(media|supports|layer|container)\b/.test(head)) {
      const inner = purge(body)
      return inner ? `${head}{${inner}}` : ''
    }
    // NHS.UK's Frutiger comes from another origin (assets.nhs.uk), which a
    // ward offline cannot reach and the licence does not let us copy: the
    // stack's next font (Arial, or the system sans-serif) is used from the
    // first paint, so no text reflows when a web font arrives late.
    if (head === '@font-face' && /url\(\s*["']?(?:https?:)?\/\//.test(body)) return ''
    if (head.startsWith('@')) return block
    // Split the selector list on commas outside parentheses.
    const selectors = []
    let depth = 0
    let from = 0
    for (let i = 0; i < head.length; i++) {
      if (head[i] === '(') depth++
      else if (head[i] === ')') depth--
      else if (head[i] === ',' && depth === 0) {
        selectors.push(head.slice(from, i))
        from = i + 1
      }
    }
    selectors.push(head.slice(from))
    const kept = selectors.filter(applies)
    return kept.length ? `${kept.join(',')}{${body}}` : ''
  }).join('')
}

const css = fs.readFileSync(source, 'utf8')
const purged = purge(css)
fs.mkdirSync(path.dirname(output), { recursive: true })
if (!fs.existsSync(output) || fs.readFileSync(output, 'utf8') !== purged) fs.writeFileSync(output, purged)
console.error(`purge-css: ${used.size} nhsuk- classes used; ${css.length} → ${purged.length} bytes`)
