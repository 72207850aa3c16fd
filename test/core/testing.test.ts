import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import * as s from '../../src/index.ts'
import { arbDim, arbPoolConfig, arbShape, checkParity, checkVjp, fc } from '../../src/testing/index.ts'

// a deliberately wrong VJP: the public checker must catch it
const badSquare: s.Primitive = {
  name: 'square',
  elementwise: { arity: 1, expr: 'a * a' },
  shape: ([x]) => x,
  vjp: (dy, [x]) => [s.mul(dy, s.mul(x, 2.001))],
}

test('checkVjp accepts a correct VJP and rejects one that is off by 0.05%', () => {
  const x = s.tensor64([0.3, -1.1, 2.2])
  assert.ok(checkVjp((z) => s.square(z), [x]).ok)
  const r = checkVjp((z) => s.bind(badSquare, [z]), [x])
  assert.equal(r.ok, false)
  assert.match(r.message, /VJP mismatch: finite difference .* vs vjp/)
})

test('checkParity catches a backend kernel that is wrong', async () => {
  const good = await checkParity((z) => s.exp(z), [s.tensor64([0.1, 0.2])], s.cpuBackend())
  assert.ok(good.ok)
  const broken = s.cpuBackend({ kernels: { exp: ([x]) => x.map((v) => Math.exp(v) * 1.01) } })
  const bad = await checkParity((z) => s.exp(z), [s.tensor64([0.1, 0.2])], broken)
  assert.equal(bad.ok, false)
  assert.match(bad.message, /cpu vs ref: forward differs at flat index 0/)
})

test('arbitraries: pool configs keep explicit pads inside the window; shapes favour several elements; dims in range', () => {
  for (const c of fc.sample(arbPoolConfig(), { numRuns: 300, seed: 5 })) {
    if (typeof c.padding === 'string') continue
    const [[t, b], [l, r]] = c.padding
    assert.ok(t < c.size[0] && b < c.size[0] && l < c.size[1] && r < c.size[1], JSON.stringify(c))
  }
  const kinds = new Set(
    fc.sample(arbPoolConfig(), { numRuns: 300, seed: 6 }).map((c) => (typeof c.padding === 'string' ? c.padding : 'explicit')),
  )
  assert.deepEqual([...kinds].sort(), ['explicit', 'same', 'valid'])
  const rect = fc.sample(arbPoolConfig(), { numRuns: 300, seed: 7 })
  assert.ok(rect.some((c) => c.size[0] !== c.size[1]) && rect.some((c) => c.strides[0] !== c.strides[1]))
  const shapes = fc.sample(arbShape({ maxRank: 3 }), { numRuns: 500, seed: 8 })
  const trivial = shapes.filter((s) => s.reduce((a, d) => a * d, 1) <= 1).length
  assert.ok(trivial > 0 && trivial < 0.15 * shapes.length, `${trivial} of ${shapes.length} shapes have at most one element`)
  assert.ok(shapes.every((s) => s.length <= 3 && s.every((d) => d >= 1 && d <= 4)))
  const dims = fc.sample(arbDim(1, 3), { numRuns: 500, seed: 9 })
  assert.ok(dims.every((d) => d >= 1 && d <= 3) && dims.includes(1) && dims.filter((d) => d === 1).length < 0.3 * dims.length)
})

test('harness: CI=true runs 10/3 as many cases, FC_NUM_RUNS caps them; a failing property names the command that replays it', () => {
  const script = `
    import { runsFor, replayCommand, fcSeed } from './test/harness.ts'
    console.log(JSON.stringify({ runs: runsFor(15), seed: fcSeed, cmd: replayCommand("conv2d (x): cpu matches ref", "3:1") }))`
  const run = (env: Record<string, string>) =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, CI: '', FC_SEED: '', FC_NUM_RUNS: '', ...env },
        encoding: 'utf8',
      }),
    )
  const local = run({ FC_SEED: '1234' })
  assert.equal(local.runs, 15)
  assert.equal(local.seed, 1234)
  assert.match(local.cmd, /^FC_SEED=1234 FC_PATH=3:1 node --import tsx --test --test-name-pattern='conv2d \\\(x\\\): cpu matches ref' /)
  const ci = run({ CI: 'true', FC_SEED: '7' })
  assert.equal(ci.runs, 50)
  assert.match(ci.cmd, /^FC_SEED=7 FC_PATH=3:1 CI=true node/)
  const capped = run({ CI: 'true', FC_SEED: '7', FC_NUM_RUNS: '4' })
  assert.equal(capped.runs, 4)
  assert.match(capped.cmd, /^FC_SEED=7 FC_PATH=3:1 CI=true FC_NUM_RUNS=4 node/)
  // without FC_SEED each process draws its own seed
  const a = run({})
  const b = run({})
  assert.notEqual(a.seed, b.seed)
})
