/** WASM SIMD kernels vs plain-JS float64 references (odd sizes, transposes, strides, pads), split determinism, build freshness. */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { conv2dBackFilterWasm, conv2dBackInputWasm, conv2dWasm, matmulWasm } from '../../src/backend/cpu/wasm/kernels.ts'
import { cpuPoolKernels } from '../../src/backend/cpu/pool.ts'
import { ewWasm, sumWasm } from '../../src/backend/cpu/wasm/elementwise.ts'
import { maxPoolBackWasm, maxPoolWasm } from '../../src/backend/cpu/wasm/pool.ts'
import { createWasmRuntime, type Job, OP, relaxedSimdAvailable, sizeClass, type WasmRuntime } from '../../src/backend/cpu/wasm/runtime.ts'
import { fc } from '../../src/testing/index.ts'
import { convDwRef, convDxRef, convRef, matmulRef } from './wasm-ref.ts'
import { fcParams } from '../harness.ts'

// a fresh seed per run (FC_SEED / FC_PATH replay one), more runs under CI=true
const opts = fcParams(40)
const vals = (n: number) =>
  fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a, (v) => v / 1000))
const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5)

/** max |a − b| ≤ tol · (1 + max |b|) · √k (float32 sums of k terms vs float64). */
const close = (a: Float32Array, b: Float32Array, k: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`)
  let e = 0
  let s = 0
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]))
    s = Math.max(s, Math.abs(b[i]))
  }
  assert.ok(e <= 1e-5 * (1 + s) * Math.sqrt(Math.max(1, k)), `${what}: max error ${e} (scale ${s})`)
}

/** A runtime with `t` threads whose workers are all up (results must not depend on this, speed does). */
const runtime = async (t: number): Promise<WasmRuntime> => {
  const rt = createWasmRuntime(t)
  for (let i = 0; i < 200 && rt.threads() < t; i++) await new Promise((r) => setTimeout(r, 10))
  return rt
}

const mmArb = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    m: fc.integer({ min: 1, max: 37 }),
    n: fc.integer({ min: 1, max: 37 }),
    k: fc.integer({ min: 0, max: 41 }),
    tA: fc.boolean(),
    tB: fc.boolean(),
  })
  .chain((d) => fc.record({ d: fc.constant(d), a: vals(d.batch * d.m * d.k), b: vals(d.batch * d.k * d.n) }))

test('wasm matmul matches the reference (odd sizes, k = 0, transposes, batches)', () => {
  fc.assert(
    fc.property(mmArb, ({ d: { batch, m, n, k, tA, tB }, a, b }) => {
      const got = matmulWasm(a, b, tA ? [batch, k, m] : [batch, m, k], tA, tB, [batch, m, n])
      close(got, matmulRef(a, b, batch, m, n, k, tA, tB), k, `matmul ${JSON.stringify({ batch, m, n, k, tA, tB })}`)
    }),
    opts,
  )
})

test('wasm matmul: a transposed B gives the same bits as the same B laid out row-major (packing moves values only)', () => {
  for (const [m, n, k] of [
    [9, 24, 7],
    [5, 16, 300],
    [33, 40, 4],
    [17, 37, 520],
    [32, 8, 1],
  ]) {
    const a = rand(m * k, 1)
    const bt = rand(n * k, 2) // [n, k]: B column-major
    const b = new Float32Array(k * n)
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) b[p * n + j] = bt[j * k + p]
    const x = matmulWasm(a, bt, [1, m, k], false, true, [1, m, n])
    const y = matmulWasm(a, b, [1, m, k], false, false, [1, m, n])
    assert.deepEqual(new Uint32Array(x.buffer, x.byteOffset, x.length), new Uint32Array(y.buffer, y.byteOffset, y.length), `${m}×${n}×${k}`)
  }
})

const convArb = fc
  .record({
    N: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 9 }),
    W: fc.integer({ min: 1, max: 9 }),
    C: fc.integer({ min: 1, max: 6 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    co: fc.integer({ min: 1, max: 9 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    same: fc.boolean(),
  })
  .filter(({ H, W, kh, kw, same }) => same || (H >= kh && W >= kw))

/** TF padding and output size for a geometry. */
const geom = ({
  N,
  H,
  W,
  C,
  kh,
  kw,
  co,
  sh,
  sw,
  same,
}: {
  N: number
  H: number
  W: number
  C: number
  kh: number
  kw: number
  co: number
  sh: number
  sw: number
  same: boolean
}) => {
  const pad = (n: number, k: number, s: number) => (same ? Math.max((Math.ceil(n / s) - 1) * s + k - n, 0) : 0)
  const th = pad(H, kh, sh)
  const tw = pad(W, kw, sw)
  const pads = [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)]
  const OH = Math.floor((H + th - kh) / sh) + 1
  const OW = Math.floor((W + tw - kw) / sw) + 1
  return { x: [N, H, W, C], w: [kh, kw, C, co], y: [N, OH, OW, co], strides: [sh, sw], pads }
}

test('wasm conv2d, input and filter gradients match the reference (strides 1/2, same/valid, 1×1 direct path)', () => {
  fc.assert(
    fc.property(convArb, fc.integer(), (d, seed) => {
      const g = geom(d)
      const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1)
      const x = rand(size(g.x), seed)
      const w = rand(size(g.w), seed + 1)
      const dy = rand(size(g.y), seed + 2)
      const label = JSON.stringify(d)
      close(conv2dWasm(x, w, g), convRef(x, w, g), d.kh * d.kw * d.C, `conv2d ${label}`)
      close(conv2dBackInputWasm(dy, w, g), convDxRef(dy, w, g), d.kh * d.kw * d.co, `conv2dBackInput ${label}`)
      close(conv2dBackFilterWasm(x, dy, g), convDwRef(x, dy, g), d.N * g.y[1] * g.y[2], `conv2dBackFilter ${label}`)
    }),
    opts,
  )
})

test('wasm conv2d input gradient as a flipped forward conv (stride 1, ≥ 256 input pixels) matches the reference', () => {
  const big = fc.record({
    N: fc.integer({ min: 3, max: 4 }),
    H: fc.integer({ min: 9, max: 12 }),
    W: fc.integer({ min: 9, max: 12 }),
    C: fc.integer({ min: 1, max: 5 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    co: fc.integer({ min: 1, max: 7 }),
    sh: fc.constant(1),
    sw: fc.constant(1),
    same: fc.boolean(),
  })
  fc.assert(
    fc.property(big, fc.integer(), (d, seed) => {
      const g = geom(d)
      const w = rand(d.kh * d.kw * d.C * d.co, seed)
      const dy = rand(
        g.y.reduce((a, b) => a * b, 1),
        seed + 1,
      )
      close(conv2dBackInputWasm(dy, w, g), convDxRef(dy, w, g), d.kh * d.kw * d.co, `conv2dBackInput ${JSON.stringify(d)}`)
    }),
    { ...opts, numRuns: 15 },
  )
})

test('wasm conv2d with more than 4096 input channels (explicit im2col chunks) matches the reference', () => {
  for (const same of [false, true]) {
    const g = geom({ N: 2, H: 3, W: 2, C: 4099, kh: 2, kw: 2, co: 3, sh: 1, sw: 1, same })
    const x = rand(2 * 3 * 2 * 4099, 8)
    const w = rand(2 * 2 * 4099 * 3, 9)
    close(conv2dWasm(x, w, g), convRef(x, w, g), 4 * 4099, `conv2d C=4099 same=${same}`)
  }
})

test('large kernels split over threads give bitwise the results of one thread, and match the reference', async () => {
  const one = await runtime(1)
  const three = await runtime(3)
  const [m, n, k] = [131, 77, 301]
  const a = rand(m * k, 1)
  const b = rand(k * n, 2)
  const wide = [matmulWasm(a, b, [m, k], false, false, [m, n], one), matmulWasm(a, b, [m, k], false, false, [m, n], three)]
  assert.deepEqual(wide[0], wide[1])
  close(wide[1], matmulRef(a, b, 1, m, n, k, false, false), k, 'split matmul')
  const at = rand(5 * 700, 3)
  const bt = rand(3000 * 700, 4)
  const short = [matmulWasm(at, bt, [5, 700], false, true, [5, 3000], one), matmulWasm(at, bt, [5, 700], false, true, [5, 3000], three)]
  assert.deepEqual(short[0], short[1])
  close(short[1], matmulRef(at, bt, 1, 5, 3000, 700, false, true), 700, 'column-split matmul')
  for (const [sh, sw] of [
    [2, 1],
    [1, 1],
  ]) {
    // above the parallel threshold (2·P·Kc·co ≥ 2^22 flops), so both runtimes really differ in split
    const g = geom({ N: 4, H: 21, W: 19, C: 13, kh: 3, kw: 3, co: 37, sh, sw, same: true })
    const x = rand(4 * 21 * 19 * 13, 5)
    const w = rand(9 * 13 * 37, 6)
    const dy = rand(
      g.y.reduce((p, q) => p * q, 1),
      7,
    )
    for (const [name, f, ref, kk] of [
      ['conv2d', (rt: WasmRuntime) => conv2dWasm(x, w, g, rt), () => convRef(x, w, g), 117],
      ['conv2dBackInput', (rt: WasmRuntime) => conv2dBackInputWasm(dy, w, g, rt), () => convDxRef(dy, w, g), 9 * 37],
      ['conv2dBackFilter', (rt: WasmRuntime) => conv2dBackFilterWasm(x, dy, g, rt), () => convDwRef(x, dy, g), 4 * g.y[1] * g.y[2]],
    ] as const) {
      const r1 = f(one)
      assert.deepEqual(r1, f(three), `${name} strides ${sh},${sw}: 1 vs 3 threads`)
      close(r1, ref(), kk, `${name} strides ${sh},${sw}`)
    }
  }
  // a deep layer at batch 1: too few output rows to split, so the output channels are split (co 76: ragged last part)
  const gd = geom({ N: 1, H: 3, W: 3, C: 420, kh: 3, kw: 3, co: 76, sh: 1, sw: 1, same: true })
  const xd = rand(9 * 420, 8)
  const wd = rand(9 * 420 * 76, 9)
  const deep = conv2dWasm(xd, wd, gd, one)
  assert.deepEqual(deep, conv2dWasm(xd, wd, gd, three), 'channel-split conv2d: 1 vs 3 threads')
  close(deep, convRef(xd, wd, gd), 9 * 420, 'channel-split conv2d')
})

test('wasm elementwise programs: every op bitwise equal to the float64-then-round JS formula, any split over threads, tails and periods', async () => {
  const one = await runtime(1)
  const three = await runtime(3)
  // n over the parallel threshold and not a multiple of 4 or of the 256-element block; a 12-float period
  const n = (1 << 16) + 7
  const m = 12
  const a = Float32Array.from(rand(n, 1), (v, i) => (i % 97 === 0 ? 0 : i % 89 === 0 ? Number.NaN : i % 83 === 0 ? -0 : v))
  const b = Float32Array.from(rand(n, 2), (v, i) => (i % 101 === 0 ? a[i] : v))
  const p = rand(m, 3)
  const exprs: [string, (a: number, b: number, c: number) => number][] = [
    ['a + b', (x, y) => x + y],
    ['a - b', (x, y) => x - y],
    ['a * b', (x, y) => x * y],
    ['a / b', (x, y) => x / y],
    ['-a', (x) => -x],
    ['Math.max(a, 0.0)', (x) => Math.max(x, 0)],
    ['Math.sqrt(a)', (x) => Math.sqrt(x)],
    ['a * a', (x) => x * x],
    ['1.0 / a', (x) => 1 / x],
    ['Math.max(a, b)', (x, y) => Math.max(x, y)],
    ['Math.min(a, b)', (x, y) => Math.min(x, y)],
    ['Math.abs(a)', (x) => Math.abs(x)],
    ['(a < b ? 1.0 : 0.0)', (x, y) => (x < y ? 1 : 0)],
    ['(a <= b ? 1.0 : 0.0)', (x, y) => (x <= y ? 1 : 0)],
    ['(a > b ? 1.0 : 0.0)', (x, y) => (x > y ? 1 : 0)],
    ['(a >= b ? 1.0 : 0.0)', (x, y) => (x >= y ? 1 : 0)],
    ['(a == b ? 1.0 : 0.0)', (x, y) => (x === y ? 1 : 0)],
    ['(a != b ? 1.0 : 0.0)', (x, y) => (x !== y ? 1 : 0)],
    ['(a != 0.0 ? b : c)', (x, y, z) => (x !== 0 ? y : z)],
    ['(a > 0.0 ? 1.0 : (a < 0.0 ? -1.0 : 0.0))', (x) => (x > 0 ? 1 : x < 0 ? -1 : 0)],
  ]
  /** Equal as numbers, −0 ≠ 0 included; NaN equals NaN whatever its payload (the sign of a hardware NaN differs from JS's). */
  const same = (got: Float32Array, want: Float32Array, what: string) => {
    assert.equal(got.length, want.length, what)
    for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.fail(`${what}: at ${i} got ${got[i]}, want ${want[i]}`)
  }
  for (const [expr, f] of exprs) {
    // operands: a (full), b (full), p (period m)
    const want = Float32Array.from({ length: n }, (_, i) => f(a[i], b[i], p[i % m]))
    const got = (rt: WasmRuntime) => {
      const out = rt.block(n)!
      assert.ok(ewWasm(rt, out, [a, b, p], ['f', 'f', 'p'], m, [{ expr, args: ['x0', 'x1', 'x2'] }]), expr)
      return out.slice()
    }
    same(got(one), want, `${expr}: 1 thread`)
    same(got(three), want, `${expr}: 3 threads`)
  }
  // a chain with a scalar operand and step results reused: (a − p)·s + b, then relu
  const s = Float32Array.of(0.75)
  const chain = [
    { expr: 'a - b', args: ['x0', 'x2'] },
    { expr: 'a * b', args: ['t0', 'x3'] },
    { expr: 'a + b', args: ['t1', 'x1'] },
    { expr: 'Math.max(a, 0.0)', args: ['t2'] },
  ]
  const f32 = Math.fround
  const want = Float32Array.from({ length: n }, (_, i) => Math.max(f32(f32(f32(a[i] - p[i % m]) * 0.75) + b[i]), 0))
  for (const rt of [one, three]) {
    const out = rt.block(n)!
    assert.ok(ewWasm(rt, out, [a, b, p, s], ['f', 'f', 'p', 's'], m, chain))
    same(out.slice(), want, `chain, ${rt.threads()} threads`)
  }
  // formulas without an f32x4 form are left to the JS loop
  assert.equal(ewWasm(one, one.block(4)!, [a], ['f'], 0, [{ expr: 'Math.exp(a)', args: ['x0'] }]), false)
})

test('wasm sums over [outer, r, inner] match a float64 sum, independent of the thread count', async () => {
  const one = await runtime(1)
  const three = await runtime(3)
  for (const [outer, r, inner] of [
    [1, 20000, 1],
    [1, 1000, 64],
    [3, 777, 7],
    [2, 5000, 13],
  ]) {
    const x = rand(outer * r * inner, 5)
    const want = new Float32Array(outer * inner)
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        let acc = 0
        for (let k = 0; k < r; k++) acc += x[(o * r + k) * inner + i]
        want[o * inner + i] = acc
      }
    const got = (rt: WasmRuntime) => {
      const out = rt.block(outer * inner)!
      assert.ok(sumWasm(rt, out, x, outer, r, inner))
      return out.slice()
    }
    const g1 = got(one)
    close(g1, want, 1, `sum ${outer}×${r}×${inner}`)
    assert.deepEqual(got(three), g1, `sum ${outer}×${r}×${inner}: 1 vs 3 threads`)
  }
})

test('wasm maxPool forward and backward equal the JS kernels bit for bit (ties, odd channels, 1 and 3 threads)', async () => {
  const one = await runtime(1)
  const three = await runtime(3)
  for (const [N, H, C, k, st, pads] of [
    [4, 24, 9, 3, 2, [1, 1, 1, 1]],
    [3, 17, 16, 2, 2, [0, 1, 0, 1]],
    [2, 40, 12, 3, 1, [0, 0, 0, 0]],
  ] as const) {
    const oh = Math.floor((H + pads[0] + pads[1] - k) / st) + 1
    // values on a coarse grid: many ties inside windows
    const x = Float32Array.from(rand(N * H * H * C, 7), (v) => Math.round(v * 8) / 8)
    const dy = rand(N * oh * oh * C, 8)
    const call = { op: 'maxPool', attrs: { size: [k, k], strides: [st, st], pads }, inShapes: [[N, H, H, C]], outShape: [N, oh, oh, C] }
    const back = {
      ...call,
      op: 'maxPoolBack',
      inShapes: [
        [N, H, H, C],
        [N, oh, oh, C],
      ],
      outShape: [N, H, H, C],
    }
    const y = cpuPoolKernels.maxPool([x], call)
    const dx = cpuPoolKernels.maxPoolBack([x, dy], back)
    for (const rt of [one, three]) {
      assert.deepEqual(maxPoolWasm(rt, x, call)?.slice(), y, `maxPool ${N}×${H}²×${C} k${k}/${st}, ${rt.threads()} threads`)
      assert.deepEqual(maxPoolBackWasm(rt, x, dy, back)?.slice(), dx, `maxPoolBack ${N}×${H}²×${C} k${k}/${st}, ${rt.threads()} threads`)
    }
  }
  // windows of padding only stay on the JS kernel
  const pad = {
    op: 'maxPool',
    attrs: { size: [1, 1], strides: [1, 1], pads: [1, 0, 0, 0] },
    inShapes: [[1, 2, 2, 4]],
    outShape: [1, 3, 2, 4],
  }
  assert.equal(maxPoolWasm(one, rand(16, 1), pad), undefined)
})

test('a kernel job that fails on the pool: the call throws once every job of it is done, and the runtime keeps working', async () => {
  const rt = await runtime(2)
  // col2im into dx at 2 GiB − 64 KiB: past the end of memory, a trap on whichever thread claims the job
  const bad: Job[] = Array.from({ length: 24 }, () => [OP.col2im, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0x7fff0000, 0, 1])
  const a = rand(64 * 48, 3)
  const b = rand(48 * 40, 4)
  const want = matmulRef(a, b, 1, 64, 40, 48, false, false)
  for (let r = 0; r < 20; r++) {
    assert.throws(
      () => rt.parallel(bad),
      (e: Error) =>
        /out of bounds/.test(e.message) && (!e.message.includes('worker') || /kernel 'col2im' \(job \d+ of 24\)/.test(e.message)),
    )
    // every job of the failed call finished before it threw: the next calls are not disturbed by leftover claims
    close(matmulWasm(a, b, [1, 64, 48], false, false, [1, 64, 40], rt), want, 48, `matmul after failure ${r}`)
  }
})

test('wasm runtime blocks: size classes, reuse after free, residency, and the free list', () => {
  const rt = createWasmRuntime(1)
  assert.deepEqual([64, 65, 100, 1000, 4096, 4097].map(sizeClass), [64, 80, 112, 1024, 4096, 5120])
  const a = rt.block(1000)!
  const pa = rt.resident(a)
  assert.ok(pa !== undefined && pa % 16 === 0)
  assert.equal(rt.resident(new Float32Array(4)), undefined)
  assert.equal(rt.memoryStats().live, sizeClass(4000))
  assert.ok(rt.free(a))
  assert.equal(rt.free(a), false, 'a second free is refused')
  assert.equal(rt.resident(a), undefined, 'a freed block is no longer resident')
  const b = rt.block(990)! // same size class: the freed block comes back
  assert.equal(rt.resident(b), pa)
  assert.equal(rt.memoryStats().free, 0)
})

test('the relaxed-SIMD build (fused multiply-add GEMM) matches the references within tolerance; asking for it without host support is a clear error', async () => {
  if (relaxedSimdAvailable()) {
    const { checkRelaxed } = await import('./wasm-relaxed-check.ts')
    assert.ok(checkRelaxed() > 0, 'the relaxed build rounds differently from the baseline somewhere')
    return
  }
  assert.throws(() => createWasmRuntime(1, { relaxed: true }), /relaxed: true, but this host has no relaxed SIMD/)
  // Node 20 has relaxed SIMD behind a V8 flag: check the build there
  const out = execFileSync(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', '--import', 'tsx', join(import.meta.dirname, 'wasm-relaxed-check.ts')],
    {
      encoding: 'utf8',
    },
  )
  const d = Number(out.match(/max \|relaxed − baseline\| (\S+)/)?.[1])
  assert.ok(d > 0 && d < 1e-4, out)
})

// Stryker's sandbox copy of every .ts file starts with its `// @ts-nocheck` header, so the committed file never equals a fresh build
// there; the build script and the AssemblyScript sources are not mutated, so a mutation run (Stryker sets STRYKER_MUTATOR_WORKER in
// its worker processes and their children) has nothing to learn from this test.
const inStrykerSandbox = process.env.STRYKER_MUTATOR_WORKER !== undefined
test('the committed kernels.wasm.ts is what src/backend/cpu/wasm/asm/kernels.ts builds to', {
  skip: inStrykerSandbox && 'inside a Stryker sandbox',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-wasm-test-'))
  try {
    const out = join(dir, 'kernels.wasm.ts')
    execFileSync(process.execPath, ['src/backend/cpu/wasm/build.mjs', out], { stdio: 'pipe' })
    const committed = readFileSync('src/backend/cpu/wasm/kernels.wasm.ts', 'utf8')
    assert.ok(readFileSync(out, 'utf8') === committed, 'src/backend/cpu/wasm/kernels.wasm.ts is out of date: run npm run build:wasm')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
