/**
 * The browser bundles (dist/browser: the package's browser entry and the demo's two scripts) load in a
 * browser: no import of a Node built-in, no free `process`, nothing external but the lazily imported
 * Node-only 'webgpu' binding.
 */
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { build } from 'esbuild'
import { browserProblems, buildBrowser } from './build.ts'

let built: Awaited<ReturnType<typeof buildBrowser>>
before(async () => {
  built = await buildBrowser()
})
after(() => rmSync(built.dir, { recursive: true, force: true }))

for (const file of ['index.js', 'demo.js', 'demo-worker.js'])
  test(`browser bundle ${file}: no Node built-in imports, no free process`, () => {
    const problems = browserProblems(readFileSync(join(built.dir, file), 'utf8'), file)
    assert.deepEqual(problems, [], problems.join('\n'))
  })

test('browser bundles: the only external import is the Node webgpu binding (imported by variable, never statically)', () => {
  const externals = built.metafiles.flatMap((m) =>
    Object.values(m.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)),
  )
  assert.deepEqual(externals, [])
})

test('the bundle check catches what the browser refuses (node: imports, require of builtins, process)', async () => {
  const entry = join(built.dir, 'bad-entry.ts')
  writeFileSync(
    entry,
    `import { readFileSync } from 'node:fs'\nexport const f = () => readFileSync(process.cwd())\nexport const g = () => import('node:path')\n` +
      `export const h = () => require('worker_threads')\nexport const ok = { process: 1, s: "require('node:os')" }.process\n`,
  )
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    external: ['node:*', 'worker_threads'],
    write: false,
    logLevel: 'silent',
  })
  const problems = browserProblems(r.outputFiles[0].text, 'bad.js')
  assert.equal(problems.filter((p) => p.includes("'node:fs'")).length, 1, problems.join('\n'))
  assert.equal(problems.filter((p) => p.includes("'node:path'")).length, 1, problems.join('\n'))
  assert.equal(problems.filter((p) => p.includes("'worker_threads'")).length, 1, problems.join('\n'))
  assert.equal(problems.filter((p) => p.includes('`process`')).length, 1, problems.join('\n'))
  assert.equal(problems.length, 4, problems.join('\n'))
})
