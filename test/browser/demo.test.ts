/**
 * The demo page in a real browser: Debian's chromium, headless, through puppeteer-core. It trains a few
 * steps with the WASM worker pool (cross-origin isolated, as `npm run demo` serves it), checks that the task
 * loss fell, that LAF shrank the stacked trace norm, and that nothing failed on the page; then checks the
 * plain-JS fallback of a page served without isolation, and that a bad URL parameter shows on the page.
 * Without chromium: a failure under CI=true, a loud skip elsewhere.
 */
import assert from 'node:assert/strict'
import { rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { driveDemo, findChromium, launchChromium } from '../../examples/browser/drive.ts'
import { serveDemo } from '../../examples/browser/serve.ts'
import { buildBrowser } from './build.ts'

const chromium = findChromium()
const missing = 'no chromium found (set CHROMIUM_PATH or `apt-get install chromium`)'
if (!chromium && process.env.CI !== 'true') console.warn(`\n*** test/browser/demo.test.ts SKIPPED: ${missing} ***\n`)

const mean = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0) / xs.length
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

describe('demo page in headless Chromium', { skip: !chromium && process.env.CI !== 'true' ? missing : false, timeout: 600_000 }, () => {
  let dir = ''
  let browser: Awaited<ReturnType<typeof launchChromium>>
  before(async () => {
    assert.ok(chromium, `CI=true: ${missing}`)
    dir = (await buildBrowser()).dir
    browser = await launchChromium(chromium)
  })
  after(async () => {
    await browser?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  const serve = (isolate: boolean) => serveDemo({ port: 0, distDir: dir, isolate })

  test('trains single and LAF with the WASM worker pool: task loss falls, LAF trace norm shrinks, no page error', async () => {
    const srv = await serve(true)
    const shot = process.env.DEMO_SCREENSHOT ?? join(tmpdir(), 'softshare-demo-test.png')
    try {
      const q = 'autostart=1&backend=wasm&runs=single,laf&size=32&train=128&test=8&batch=16&steps=16&evalEvery=8'
      const { state, pageErrors, consoleErrors } = await driveDemo(browser, `${srv.url}?${q}`, { timeoutMs: 400_000, screenshot: shot })
      assert.deepEqual(pageErrors, [])
      assert.deepEqual(consoleErrors, [])
      assert.deepEqual(state.errors, [])
      assert.equal(state.done, '16 steps done')
      assert.match(state.backend, /WASM/)
      assert.ok(state.threads >= 2, `the kernel Workers started: ${state.threads} threads`)
      for (const run of ['single', 'laf'] as const) {
        const loss = state.losses[run]!.map((p) => p[1])
        assert.equal(loss.length, 16)
        assert.ok(
          mean(loss.slice(-4)) < mean(loss.slice(0, 4)),
          `${run}: task loss did not fall: ${loss.map((v) => v.toFixed(3)).join(' ')}`,
        )
      }
      const tn = (run: 'single' | 'laf') => state.evals[run]!.map((e) => e.traceNorms.reduce((a, b) => a + b, 0))
      assert.equal(tn('laf').length, 3, 'evaluations at steps 0, 8, 16')
      assert.ok(tn('laf')[2] < tn('laf')[0], `LAF trace norm ${tn('laf').join(' → ')}`)
      assert.ok(statSync(shot).size > 10_000, 'screenshot written')
      console.log(`demo (WASM, ${state.threads} threads): median ${median(state.speeds).toFixed(1)} images/s; screenshot ${shot}`)
    } finally {
      await srv.close()
    }
  })

  test('without cross-origin isolation the page falls back to the plain-JS kernels and still trains', async () => {
    const srv = await serve(false)
    try {
      const q = 'autostart=1&runs=single&size=16&train=16&test=4&batch=8&steps=2&evalEvery=2'
      const { state, pageErrors, consoleErrors } = await driveDemo(browser, `${srv.url}?${q}`, { timeoutMs: 120_000 })
      assert.deepEqual([...pageErrors, ...consoleErrors, ...state.errors], [])
      assert.equal(state.done, '2 steps done')
      assert.match(state.backend, /plain-JS/)
      assert.match(state.notes.join(' '), /not cross-origin isolated/)
    } finally {
      await srv.close()
    }
  })

  test('a bad URL parameter is shown on the page and nothing starts', async () => {
    const srv = await serve(true)
    try {
      const { state, pageErrors } = await driveDemo(browser, `${srv.url}?autostart=1&size=abc`, { timeoutMs: 30_000 })
      assert.deepEqual(pageErrors, [])
      assert.equal(state.config, undefined)
      assert.deepEqual(state.errors, ['URL parameter: size: expected an integer in [16, 128], got "abc"'])
    } finally {
      await srv.close()
    }
  })
})
