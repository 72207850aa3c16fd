/**
 * The layering of src/ (README "Architecture"): imports point one way, down this list, and no loop crosses
 * two folders. A new upward import fails here with the file and the line that made it.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative, sep } from 'node:path'
import { test } from 'node:test'

/** Bottom to top. A folder may import its own files and any folder before it. */
const LAYERS = [
  'tensor',
  'graph',
  'backend',
  'ops',
  'autodiff',
  'linalg',
  'nn',
  'mtl',
  'optim',
  'train',
  'data',
  'experiments',
  'testing',
  'node',
] as const
/** Files directly in src/ are package entries: they may import anything. */
const ENTRY = LAYERS.length

const root = join(import.meta.dirname, '..', '..', 'src')
const files = readdirSync(root, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts'))
const rank = (file: string): number => {
  const parts = file.split(sep)
  if (parts.length === 1) return ENTRY
  const r = LAYERS.indexOf(parts[0] as (typeof LAYERS)[number])
  if (r < 0) throw new Error(`src/${parts[0]}/ is not a known layer: add it to LAYERS in test/architecture.test.ts and to the README`)
  return r
}
const folder = (file: string): string => (file.includes(sep) ? file.split(sep)[0] : file)

/** AssemblyScript sources import without an extension. */
const resolve = (p: string): string => (p.endsWith('.ts') || p.endsWith('.mjs') ? p : `${p}.ts`)

interface Edge {
  readonly from: string
  readonly to: string
  readonly line: number
}

/** Every relative import / re-export / dynamic import of every src file, resolved to a src-relative path. */
const edges: Edge[] = files.flatMap((f) => {
  const text = readFileSync(join(root, f), 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map(
    (m) => ({
      from: f,
      to: resolve(normalize(relative(root, join(root, dirname(f), m[1] ?? m[2])))),
      line: text.slice(0, m.index).split('\n').length + (text[m.index] === '\n' ? 1 : 0),
    }),
  )
})

test('architecture: every src folder is a known layer and the import scan sees the code', () => {
  for (const f of files) rank(f)
  assert.ok(edges.length > 100, `only ${edges.length} imports found: the scanner is broken`)
  for (const e of edges) assert.ok(files.includes(e.to), `src/${e.from}:${e.line} imports src/${e.to}, which does not exist`)
})

test('architecture: no import points up the layer list', () => {
  const up = edges.filter((e) => folder(e.from) !== folder(e.to) && rank(e.to) > rank(e.from))
  assert.deepEqual(
    up.map((e) => `src/${e.from}:${e.line} (${folder(e.from)}) imports src/${e.to} (${folder(e.to)})`),
    [],
    `layers, bottom to top: ${LAYERS.join(' < ')}`,
  )
})

test('architecture: above backend/, only the Backend interface is imported (no backend internals)', () => {
  // entries (src/*.ts), node/ and testing/ construct backends, so they may import a backend's index and select.ts
  const constructs = (f: string) => rank(f) >= LAYERS.indexOf('testing')
  const publicFiles = (f: string) => (constructs(f) ? /^backend\/(backend|select|(ref|cpu|gpu)\/index)\.ts$/ : /^backend\/backend\.ts$/)
  const bad = edges.filter(
    (e) => folder(e.from) !== 'backend' && folder(e.to) === 'backend' && !publicFiles(e.from).test(e.to.split(sep).join('/')),
  )
  assert.deepEqual(
    bad.map((e) => `src/${e.from}:${e.line} imports src/${e.to}`),
    [],
  )
})

test('architecture: no import loop between folders', () => {
  const graph = new Map<string, Set<string>>()
  for (const e of edges)
    if (folder(e.from) !== folder(e.to))
      (graph.get(folder(e.from)) ?? graph.set(folder(e.from), new Set()).get(folder(e.from))!).add(folder(e.to))
  const state = new Map<string, 1 | 2>()
  const loops: string[] = []
  const visit = (n: string, path: string[]): void => {
    state.set(n, 1)
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) loops.push([...path.slice(path.indexOf(m)), m].join(' → '))
      else if (!state.has(m)) visit(m, [...path, m])
    }
    state.set(n, 2)
  }
  for (const n of graph.keys()) if (!state.has(n)) visit(n, [n])
  assert.deepEqual(loops, [])
})

test('architecture: the scanner catches an upward import (self-check)', () => {
  const probe: Edge = { from: join('ops', 'x.ts'), to: join('autodiff', 'vjp.ts'), line: 1 }
  assert.ok(rank(probe.to) > rank(probe.from))
})
