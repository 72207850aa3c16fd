/**
 * Smoke test of the browser bundle (esbuild, platform browser, as in esbuild.config.mjs). No browser is
 * downloaded: the bundle is loaded in Node and computes the gradient of examples/browser/index.html with
 * the gpu backend in webasm mode. The real browser (Debian's chromium, headless) is driven by
 * test/browser/demo.test.ts; WebGPU on a hardware adapter is not yet run on a GPU.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

test('the browser bundle builds, keeps webgpu out, and computes a gradient matching ref', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-browser-'))
  try {
    await build({
      entryPoints: { index: 'src/index.ts' },
      outdir: dir,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minifyIdentifiers: false,
      keepNames: true,
      logLevel: 'silent',
      external: ['webgpu', 'node:*', 'worker_threads', 'fs', 'path', 'os', 'url'],
    })
    const code = readFileSync(join(dir, 'index.js'), 'utf8')
    assert.doesNotMatch(code, /^import .* from "webgpu"/m, 'the native webgpu package must only be imported dynamically (Node)')
    const ss = await import(pathToFileURL(join(dir, 'index.js')).href)
    const be = ss.gpuBackend({ mode: 'webasm' })
    const [k1, k2, k3] = ss.split(ss.key(0), 3)
    const x = ss.normal(k1, [64, 8])
    const t = ss.normal(k2, [64, 1])
    const w = ss.normal(k3, [8, 1])
    const loss = (p: { w: unknown }) => ss.sum(ss.square(ss.sub(ss.matmul(x, p.w), t)))
    const { value, grad } = ss.valueAndGrad(loss)({ w })
    const [v, g] = await ss.run([value, grad.w], { backend: be })
    const [rv, rg] = ss.runSync([value, grad.w], { backend: 'ref' })
    assert.ok(Math.abs(v.data[0] - rv.data[0]) < 1e-3 * Math.abs(rv.data[0]))
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(g.data[i] - rg.data[i]) < 1e-3 * (1 + Math.abs(rg.data[i])), `dw[${i}]`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
