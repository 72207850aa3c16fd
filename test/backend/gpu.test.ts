/** The gpu backend beyond per-primitive parity (test/ops/*): memory, kernel cache, selection, missing kernels. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import { gpuKernelSource } from '../../src/backend/gpu/index.ts'
import { testGpu } from '../harness.ts'
import { checkParity, fc } from '../../src/testing/index.ts'
import { allCases } from '../ops/cases/index.ts'

type Params = { w1: ops.Tensor; b1: ops.Tensor; w2: ops.Tensor }

/** One SGD step of a 2-layer MLP, traced: returns the loss and the updated parameters. */
const step = (p: Params, x: ops.HostTensor, t: ops.HostTensor) => {
  const loss = (q: Params) => {
    const h = ops.relu(ops.add(ops.matmul(ops.constant(x), q.w1), q.b1))
    const y = ops.matmul(h, q.w2)
    return ops.mean(ops.square(ops.sub(y, t)))
  }
  const { value, grad } = ops.valueAndGrad(loss)(p)
  const upd = (w: ops.Tensor, g: ops.Tensor) => ops.sub(w, ops.mul(g, 0.05))
  return { loss: value, params: { w1: upd(p.w1, grad.w1), b1: upd(p.b1, grad.b1), w2: upd(p.w2, grad.w2) } }
}

test('200 training-like steps on gpu: live device buffers stay flat and kernels compile once', async () => {
  const be = testGpu()
  const [k1, k2, k3, k4] = ops.split(ops.key(11), 4)
  const x = ops.normal(k1, [16, 8])
  const t = ops.normal(k2, [16, 2])
  let host = { w1: ops.normal(k3, [8, 12], 0, 0.3), b1: ops.tensor(new Float32Array(12), [12]), w2: ops.normal(k4, [12, 2], 0, 0.3) }
  const live: number[] = []
  const compiled: number[] = []
  const losses: number[] = []
  for (let i = 0; i < 200; i++) {
    const p = { w1: ops.constant(host.w1), b1: ops.constant(host.b1), w2: ops.constant(host.w2) }
    const r = await ops.run(step(p, x, t), { backend: be })
    host = r.params
    losses.push(r.loss.data[0])
    live.push(be.stats().liveBuffers)
    compiled.push(be.stats().compiledKernels)
  }
  assert.deepEqual(new Set(live), new Set([0]), `live buffers after each step: ${[...new Set(live)].join(',')}`)
  assert.equal(compiled[199], compiled[0], 'kernels compiled after the first step')
  assert.ok(losses[199] < losses[0], `loss fell: ${losses[0]} → ${losses[199]}`)
  be.dispose()
})

test('live buffers peak below the graph size during a run (intermediates are released after last use)', async () => {
  const be = testGpu()
  let peak = 0
  const spy: ops.Backend<any> = {
    ...be,
    exec: (c, ins) => {
      const out = be.exec(c, ins)
      peak = Math.max(peak, be.stats().liveBuffers + 1)
      return out
    },
  }
  let y: ops.Tensor = ops.constant(ops.tensor([1, 2, 3], [3]))
  for (let i = 0; i < 50; i++) y = ops.sum(ops.concat([y, y], 0), [0], true)
  await ops.run(y, { backend: spy, fuse: false })
  assert.ok(peak <= 4, `peak live buffers ${peak}`)
  assert.equal(be.stats().liveBuffers, 0)
})

test('createBackend: gpu without an adapter runs webasm and says so once; auto picks cpu; run accepts names', async () => {
  const warnings: string[] = []
  const be = await ops.createBackend('gpu', { warn: (m) => warnings.push(m) })
  assert.equal(be.name, 'gpu')
  if (!(await ops.probeWebGPU()).ok) {
    assert.equal((be as ReturnType<typeof ops.gpuBackend>).mode, 'webasm')
    assert.equal(warnings.length, 1)
    assert.match(warnings[0], /webasm.*no WebGPU adapter/)
    assert.equal((await ops.createBackend('auto')).name, 'cpu')
  }
  const r = await ops.run(ops.mul(ops.tensor([1, 2], [2]), 3), { backend: 'cpu' })
  assert.deepEqual(Array.from(r.data), [3, 6])
  assert.deepEqual(Array.from(ops.runSync(ops.add(ops.tensor([1], [1]), 1), { backend: 'ref' }).data), [2])
  await assert.rejects(() => ops.createBackend('tpu' as ops.BackendName), /unknown backend 'tpu'/)
})

test('doctor lists every backend with a reason', async () => {
  const lines = await ops.doctor()
  assert.deepEqual(
    lines.map((l) => l.backend),
    ['ref', 'cpu', 'gpu (webgpu)', 'gpu (webasm)', 'auto'],
  )
  for (const l of lines) assert.ok(l.detail.length > 0)
  assert.match(ops.formatDoctor(lines), /gpu \(webgpu\)/)
})

test('an op without a gpu kernel fails at run with the op named', async () => {
  const fake: ops.Primitive = { name: 'noSuchOp', shape: ([s]) => s }
  await assert.rejects(
    () => ops.run(ops.bind(fake, [ops.tensor([1], [1])]), { backend: testGpu() }),
    /backend 'gpu' has no kernel for op 'noSuchOp'/,
  )
})

test('ops without exact 3-D addressing refuse tensors past 2^24 elements, naming the op', () => {
  const call = {
    op: 'matmul',
    attrs: {},
    inShapes: [
      [4097, 4096],
      [4096, 1],
    ],
    outShape: [4097, 1],
  }
  assert.throws(() => gpuKernelSource(call), /op 'matmul' on \[4097,4096\] exceeds 16777216 elements/)
  // the same size is fine for ops that address through 3-D views
  assert.doesNotThrow(() => gpuKernelSource({ op: 'transpose', attrs: { perm: [1, 0] }, inShapes: [[4097, 4096]], outShape: [4096, 4097] }))
})

test('big tensors (3-D views, exact i32 addressing) match ref: every primitive case with the threshold lowered to 16 elements', async () => {
  for (const vec4 of [false, true]) {
    const be = ops.gpuBackend({ mode: process.env.SOFTSHARE_GPU_MODE === 'webgpu' ? 'webgpu' : 'webasm', exactAbove: 16, vec4 })
    let ran = 0
    for (const c of allCases)
      for (const { inputs, attrs } of fc.sample(c.arb, { numRuns: 4, seed: 21 })) {
        if (c.pre && !c.pre(inputs, attrs)) continue
        let r: Awaited<ReturnType<typeof checkParity>>
        try {
          r = await checkParity((...xs) => c.f(xs, attrs), inputs, be, { wrt: c.wrt, rtol: 1e-3, atol: 1e-3 })
        } catch (e) {
          // a 1-D tensor past the threshold has no 3-D view: refused with a clear error, never wrong values
          if (/no 3-D view/.test((e as Error).message)) continue
          throw e
        }
        assert.ok(r.ok, `${c.prim}${c.label ? ` (${c.label})` : ''} vec4=${vec4}: ${r.message}`)
        ran++
      }
    assert.ok(ran > 100, `${ran} cases`)
    assert.equal(be.stats().liveBuffers, 0)
  }
})

test('the 4-outputs-per-thread kernels (WebGPU default) match ref, run here on webasm', async () => {
  const be = testGpu({ vec4: true })
  const vecOps = new Set(['matmul', 'conv2d', 'conv2dBackInput'])
  let ran = 0
  for (const c of allCases.filter((c) => vecOps.has(c.prim)))
    for (const { inputs, attrs } of fc.sample(c.arb, { numRuns: 12, seed: 9 })) {
      if (c.pre && !c.pre(inputs, attrs)) continue
      const r = await checkParity((...xs) => c.f(xs, attrs), inputs, be, { wrt: c.wrt, rtol: 1e-3, atol: 1e-3 })
      assert.ok(r.ok, `${c.prim}: ${r.message}`)
      ran++
    }
  assert.ok(ran >= 10, `${ran} cases`)
})

test('vec4 matmul: batched, unrolled and odd shapes, all transpose combinations', async () => {
  const be = testGpu({ vec4: true })
  const [k1, k2] = ops.split(ops.key(5), 2)
  for (const [batch, m, k, n] of [
    [1, 5, 8, 12],
    [3, 7, 6, 8],
    [2, 1, 4, 4],
    [1, 3, 5, 7],
  ])
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const sa = [...(batch > 1 ? [batch] : []), ...(transA ? [k, m] : [m, k])]
        const sb = [...(batch > 1 ? [batch] : []), ...(transB ? [n, k] : [k, n])]
        const r = await checkParity((a, b) => ops.matmul(a, b, { transA, transB }), [ops.normal(k1, sa), ops.normal(k2, sb)], be, {
          rtol: 1e-3,
          atol: 1e-3,
        })
        assert.ok(r.ok, `${[batch, m, k, n]} transA=${transA} transB=${transB}: ${r.message}`)
      }
})

test('kernels bind at most 7 inputs: a 17-way concat and a wide elementwise sum still match ref', async () => {
  const be = testGpu()
  const xs = Array.from({ length: 17 }, (_, i) => ops.normal(ops.key(100 + i), [2, 1 + (i % 3), 3]))
  const r = await checkParity((...ts) => ops.concat(ts, 1), xs, be)
  assert.ok(r.ok, r.message)
  const wide = Array.from({ length: 12 }, (_, i) => ops.normal(ops.key(200 + i), [5, 4]))
  const r2 = await checkParity((...ts) => ts.reduce((acc, t) => ops.add(acc, ops.mul(t, t))), wide, be)
  assert.ok(r2.ok, r2.message)
  const calls: number[] = []
  const spy: ops.Backend<any> = {
    ...be,
    exec: (c, ins) => {
      calls.push(ins.length)
      return be.exec(c, ins)
    },
  }
  await ops.run(
    wide.map(ops.constant).reduce((acc, t) => ops.add(acc, ops.mul(t, t))),
    { backend: spy },
  )
  assert.ok(Math.max(...calls) <= 7, `inputs per kernel: ${calls}`)
  assert.ok(calls.length < 12, `fused into ${calls.length} kernels`)
  assert.equal(be.stats().liveBuffers, 0)
})

test('long reductions split into chunks + a combine pass, in every axis layout, match ref', async () => {
  const be = testGpu()
  const cases: [number[], number[]][] = [
    [[3, 5000], [1]],
    [[5000, 3], [0]],
    [
      [70, 80],
      [0, 1],
    ],
    [[2, 3000, 2], [1]],
    [
      [30, 2, 90],
      [0, 2],
    ],
    [
      [4, 1, 2100],
      [1, 2],
    ],
  ]
  for (const [shape, axes] of cases) {
    const x = ops.normal(ops.key(shape.length + shape[0]), shape)
    for (const f of [ops.sum, ops.max]) {
      const r = await checkParity((t) => f(t, axes), [x], be, { rtol: 1e-4, atol: 1e-4 })
      assert.ok(r.ok, `${f === ops.sum ? 'sum' : 'max'} ${shape} over ${axes}: ${r.message}`)
    }
  }
  assert.equal(be.stats().liveBuffers, 0)
})

test('pow of a negative base at integer exponents and tanh of large arguments follow JS, not the GPU builtins', async () => {
  const x = ops.tensor([-2, -2, -3, 2, 0, -0.5, 3, -1.5, -40, 40], [10])
  const y = ops.tensor([2, 3, 0.5, 2, 0, 2, 1, -2, 1, 1], [10])
  const [p, t] = await ops.run([ops.pow(x, y), ops.tanh(ops.mul(x, 10))], { backend: testGpu() })
  const want = [4, -8, Number.NaN, 4, 1, 0.25, 3, 1 / 2.25, -40, 40]
  want.forEach((w, i) => {
    if (Number.isNaN(w)) assert.ok(Number.isNaN(p.data[i]), `pow[${i}] = ${p.data[i]}`)
    else assert.ok(Math.abs(p.data[i] - w) <= 1e-4 * Math.abs(w), `pow[${i}] = ${p.data[i]}, want ${w}`)
  })
  assert.deepEqual(Array.from(t.data.slice(8)), [-1, 1])
})

test('max of all −∞ is −∞ (short, chunked and nested reductions)', async () => {
  const be = testGpu()
  for (const [shape, axes] of [
    [[3, 4], [1]],
    [[2, 3000], [1]],
    [
      [3, 2, 4],
      [0, 2],
    ],
  ] as [number[], number[]][]) {
    const x = ops.tensor(new Float32Array(ops.sizeOf(shape)).fill(Number.NEGATIVE_INFINITY), shape)
    const r = await ops.run(ops.max(x, axes), { backend: be })
    assert.ok(
      Array.from(r.data).every((v) => v === Number.NEGATIVE_INFINITY),
      `${shape}: ${Array.from(r.data)}`,
    )
  }
})

test('host kernels: an op without a GPU form runs on the host between device kernels', async () => {
  const twice: ops.Primitive = { name: 'hostTwice', shape: ([s]) => s }
  const be = ops.gpuBackend({
    mode: process.env.SOFTSHARE_GPU_MODE === 'webgpu' ? 'webgpu' : 'webasm',
    hostKernels: { hostTwice: ([x]) => x.map((v) => 2 * v) },
  })
  assert.ok(be.has({ name: 'hostTwice' }))
  const x = ops.tensor([1, -2, 3, 4], [2, 2])
  const y = ops.exp(ops.bind(twice, [ops.add(x, 1)]))
  const r = await ops.run(y, { backend: be })
  assert.deepEqual(
    Array.from(r.data, (v) => Math.round(Math.log(v) * 1e4) / 1e4),
    [4, -2, 8, 10],
  )
  assert.equal(be.stats().liveBuffers, 0)
})

test('a big tensor that is both read by kernels and requested comes back intact', async () => {
  const be = ops.gpuBackend({ mode: process.env.SOFTSHARE_GPU_MODE === 'webgpu' ? 'webgpu' : 'webasm', exactAbove: 16 })
  const m = ops.mul(ops.constant(ops.normal(ops.key(9), [3, 4, 5])), 1)
  const y = ops.relu(ops.transpose(m, [2, 0, 1]))
  const [rx, ry] = await ops.run([m, y], { backend: be })
  const [wx, wy] = ops.runSync([m, y], { backend: ops.cpuBackend() })
  assert.deepEqual(Array.from(rx.data), Array.from(wx.data))
  assert.deepEqual(Array.from(ry.data), Array.from(wy.data))
})

test('trace-norm regularisers (LAF exact, Tucker randomized) and their gradients on gpu match cpu', async () => {
  const [k1, k2] = ops.split(ops.key(4), 2)
  const w1 = ops.normal(k1, [3, 3, 4, 8])
  const w2 = ops.normal(k2, [3, 3, 4, 8])
  const f = (p: { a: ops.Tensor; b: ops.Tensor }) =>
    ops.add(ops.laf(ops.stackTasks([p.a, p.b])), ops.tucker(ops.stackTasks([p.a, p.b]), 0.5, { rank: 4, key: ops.key(5) }))
  const { value, grad } = ops.valueAndGrad(f)({ a: w1, b: w2 })
  const be = testGpu()
  const [v, g] = await ops.run([value, grad.a], { backend: be })
  const [rv, rg] = ops.runSync([value, grad.a], { backend: ops.cpuBackend() })
  assert.ok(Math.abs(v.data[0] - rv.data[0]) <= 1e-4 * Math.abs(rv.data[0]), `${v.data[0]} vs ${rv.data[0]}`)
  for (let i = 0; i < rg.data.length; i++) assert.ok(Math.abs(g.data[i] - rg.data[i]) <= 1e-3 * (1 + Math.abs(rg.data[i])), `grad[${i}]`)
  assert.equal(be.stats().liveBuffers, 0)
})

test('resident tensors: run keeps requested outputs on the backend and takes them back as inputs; misuse is named', async () => {
  const be = testGpu()
  const x = ops.tensor([1, 2, 3, 4, 5, 6], [2, 3])
  const y = ops.mul(ops.constant(x), 2)
  const [r] = await ops.run([y], { backend: be, keep: new Set([y]) })
  assert.ok(ops.isResident(r))
  assert.throws(() => r.data, /resident tensor \[2,3\] is on the 'gpu' backend/)
  assert.equal(be.stats().liveBuffers, 1)
  assert.deepEqual(Array.from((await ops.readResident(r)).data), [2, 4, 6, 8, 10, 12])
  // as an input: no upload, still alive afterwards; kept again unchanged, it comes back as the same tensor
  const c = ops.constant(r)
  const [z, same] = await ops.run([ops.add(c, 1), c], { backend: be, keep: new Set([c]) })
  assert.deepEqual(Array.from(z.data), [3, 5, 7, 9, 11, 13])
  assert.equal(same, r)
  assert.equal(be.stats().liveBuffers, 1)
  await assert.rejects(
    ops.run(ops.add(ops.constant(r), 1), { backend: ops.cpuBackend() }),
    /lives on another 'gpu' backend instance, not on 'cpu'/,
  )
  ops.releaseResident(r)
  ops.releaseResident(r) // idempotent
  assert.equal(be.stats().liveBuffers, 0)
  await assert.rejects(ops.run(ops.add(ops.constant(r), 1), { backend: be }), /was released/)
  await assert.rejects(ops.readResident(r), /was released/)
})

test('fit with a resident trainStep: same numbers as host state, host tensors in hooks and result, every old state freed', async () => {
  const [k1, k2, k3] = ops.split(ops.key(8), 3)
  const x = ops.normal(k1, [8, 3])
  const t = ops.normal(k2, [8, 2])
  const params = { w: ops.normal(k3, [3, 2]), b: ops.zeros([2]) }
  const opt = ops.optim.adam({ lr: 0.05 })
  const results: number[][] = []
  for (const resident of [true, false]) {
    const be = testGpu()
    const step = ops.train.trainStep<null, any, null>({
      optimizer: opt,
      backend: be,
      resident,
      loss: (p) => ({ loss: ops.mean(ops.square(ops.sub(ops.add(ops.matmul(ops.constant(x), p.w), p.b), t))) }),
    })
    const seen: boolean[] = []
    const { state } = await ops.train.fit<any, null>(
      { params, modelState: null, opt: opt.init(params), step: 0 },
      {
        epochs: 2,
        batches: () => [null, null, null],
        step,
        print: null,
        afterStep: (s) => {
          seen.push(ops.isResident(s.params.w))
        },
        onEpochEnd: (s) => ({ w0: s.params.w.data[0] }), // a host tensor here
      },
    )
    assert.deepEqual(seen, new Array(6).fill(resident))
    assert.ok(!ops.train.hasResident(state))
    assert.equal(be.stats().liveBuffers, 0, 'the last resident state is freed once read back')
    results.push([...state.params.w.data, ...state.params.b.data, ...state.opt.m.w.data])
  }
  assert.deepEqual(results[0], results[1])
})
