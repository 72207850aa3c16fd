/** The demo server (`npm run demo`) and the page's URL settings, without a browser. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { defaultConfig, parseConfig } from '../../examples/browser/config.ts'
import { serveDemo } from '../../examples/browser/serve.ts'

test('serveDemo: isolation headers, the page, the dist override, redirects, 404 with a hint, nothing outside the root', async () => {
  const dist = mkdtempSync(join(tmpdir(), 'softshare-serve-'))
  writeFileSync(join(dist, 'demo.js'), 'export {}\n')
  const srv = await serveDemo({ port: 0, distDir: dist })
  const origin = new URL(srv.url).origin
  const get = (path: string) => fetch(origin + path, { redirect: 'manual' })
  try {
    const page = await get('/examples/browser/')
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin')
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp')
    assert.match(page.headers.get('content-type') ?? '', /text\/html/)
    assert.match(await page.text(), /dist\/browser\/demo\.js/)
    const js = await get('/dist/browser/demo.js')
    assert.equal(js.status, 200)
    assert.match(js.headers.get('content-type') ?? '', /javascript/)
    assert.equal(await js.text(), 'export {}\n')
    assert.equal((await get('/')).headers.get('location'), '/examples/browser/')
    assert.equal((await get('/examples/browser')).headers.get('location'), '/examples/browser/')
    const missing = await get('/dist/browser/nope.js')
    assert.equal(missing.status, 404)
    assert.match(await missing.text(), /npm run build/)
    assert.equal((await get('/..%2f..%2f..%2fetc/passwd')).status, 403) // %2f survives URL normalisation, then decodes to /
    assert.equal((await get('/dist/browser/..%2f..%2f..%2fetc/passwd')).status, 403)
    assert.equal((await fetch(srv.url, { method: 'POST' })).status, 405)
  } finally {
    await srv.close()
    rmSync(dist, { recursive: true, force: true })
  }
  const plain = await serveDemo({ port: 0, isolate: false })
  try {
    assert.equal((await fetch(plain.url)).headers.get('cross-origin-embedder-policy'), null)
  } finally {
    await plain.close()
  }
})

test('parseConfig: URL settings override the defaults; each bad value is named with what was expected', () => {
  const q = (s: string) => {
    const p = new URLSearchParams(s)
    return parseConfig((n) => p.get(n))
  }
  assert.deepEqual(q(''), { config: defaultConfig, errors: [] })
  const ok = q('runs=laf,single&size=32&lr=0.01&steps=5')
  assert.deepEqual(ok.errors, [])
  assert.deepEqual([ok.config.runs, ok.config.size, ok.config.lr, ok.config.steps], [['laf', 'single'], 32, 0.01, 5])
  assert.deepEqual(q('size=8&lr=x&runs=laf,tucker&batch=600&train=512').errors, [
    'size: expected an integer in [16, 128], got "8"',
    'lr: expected a number in [0, 1], got "x"',
    'runs: expected a comma-separated list of single, laf, laf+ada, got "laf,tucker"',
    'batch: must not exceed train (512), got 600',
  ])
})
