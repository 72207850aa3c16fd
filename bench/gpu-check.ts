/**
 * GPU check: correctness of every primitive on the `gpu` backend vs `ref`, then timings of matmul,
 * conv2d fwd/dx/dw at ResNet shapes and a small ResNet-like forward+backward. Prints Markdown tables.
 *
 *   npx tsx bench/gpu-check.ts --small          # here: gpu.js webasm (no adapter), small sizes
 *   bash ../shared/device/prepare.sh bench/gpu-check.ts && (device) bash .gpu/run.sh gpu-check
 *
 * Device time per op comes from chains: a run with K dependent ops minus a run with one, over K − 1,
 * so upload, compile and readback cancel; "e2e" is one op including upload and readback.
 */
import * as ops from '../src/index.ts'
import { checkParity, fc } from '../src/testing/index.ts'
import { allCases } from '../test/ops/cases/index.ts'
import { args, fmtMs, table, timeIt } from './lib/timing.ts'
import { resnetStep } from './lib/resnet.ts'

const opt = args(process.argv.slice(2))
let small = opt.small === true
// a watchdog, so a slow or stuck device run still ends (and prints what it has) well inside the device tool's limit
const limitS = Number(opt.limit ?? 420)
setTimeout(() => {
  console.log(`\nwatchdog: stopping after ${limitS} s (--limit)`)
  process.exit(3)
}, limitS * 1000).unref()
const samples = Number(opt.samples ?? 3)
const report: Record<string, unknown> = {}

const probe = await ops.probeWebGPU()
const mode: ops.GpuMode = probe.ok ? 'webgpu' : 'webasm'
console.log(ops.formatDoctor(await ops.doctor()))
if (!probe.ok && !small) {
  console.log('no WebGPU adapter: falling back to --small sizes (full sizes on webasm would take hours)')
  small = true
}
const header = `gpu-check ${new Date().toISOString()} mode=${mode} ${probe.ok ? `adapter: ${probe.detail}` : `(no WebGPU adapter: ${probe.detail})`}${small ? ' --small' : ''}`
console.log(header)
report.header = header
const be = ops.gpuBackend({ mode, vec4: true })
const beScalar = ops.gpuBackend({ mode, vec4: false })
const cpu = ops.cpuBackend()
const [k1, k2, k3, k4] = ops.split(ops.key(2026), 4)

// ---- 1. correctness: every primitive case (forward + VJP, fused), then a few large shapes ----
const t0 = performance.now()
const rows: string[][] = [['primitive', 'cases', 'result']]
let failures = 0
for (const c of allCases) {
  let ok = 0
  let msg = ''
  for (const { inputs, attrs } of fc.sample(c.arb, { numRuns: samples * 3, seed: 7 })) {
    if (ok >= samples) break
    if (c.pre && !c.pre(inputs, attrs)) continue
    try {
      const r = await checkParity((...xs) => c.f(xs, attrs), inputs, be, { wrt: c.wrt, rtol: 1e-3, atol: 1e-3 })
      if (!r.ok) msg = r.message
      else ok++
    } catch (e) {
      msg = `threw: ${(e as Error).message.slice(0, 300)}`
    }
    if (msg) break
  }
  if (msg) failures++
  rows.push([c.label ? `${c.prim} (${c.label})` : c.prim, String(ok), msg ? `FAIL ${msg}` : 'ok'])
}

/** max |gpu − cpu| / max |cpu| for one graph (cpu accumulates matmul and sums in float64). */
const relErr = async (y: ops.Tensor, b: ops.Backend<any> = be): Promise<number> => {
  const [g, want] = await Promise.all([ops.run(y, { backend: b }), ops.run(y, { backend: cpu })])
  let err = 0
  let mag = 0
  for (let i = 0; i < want.data.length; i++) {
    err = Math.max(err, Math.abs(g.data[i] - want.data[i]))
    mag = Math.max(mag, Math.abs(want.data[i]))
  }
  return err / Math.max(mag, 1e-30)
}
const big = small ? 1 << 16 : 5_000_000 // 5M elements: the 1-D dispatch folds past 65535 workgroups
const n512 = small ? 96 : 512
const A = ops.constant(ops.normal(k1, [n512, n512]))
const B = ops.constant(ops.normal(k2, [n512, n512]))
const V = ops.constant(ops.normal(k3, [big]))
const largeChecks: [string, () => Promise<number>][] = [
  [`fused chain, ${big} elements`, () => relErr(ops.tanh(ops.add(ops.mul(V, V), ops.sigmoid(V))))],
  [`sum over ${big}`, () => relErr(ops.sum(V))],
  [`matmul ${n512} (vec4)`, () => relErr(ops.matmul(A, B))],
  [`matmul ${n512} (scalar)`, () => relErr(ops.matmul(A, B), beScalar)],
  [`matmul ${n512} transA transB (vec4)`, () => relErr(ops.matmul(A, B, { transA: true, transB: true }))],
]
if (ops.primitives.conv2d && ops.primitives.maxPool) {
  // the ResNet-34 stem at the paper's batch 256: activations of 37.7M elements take the exact 3-D path
  const batch = small ? 4 : 256
  const bigBe = small ? ops.gpuBackend({ mode, vec4: true, exactAbove: 1000 }) : be
  const x = ops.constant(ops.normal(k3, [batch, 96, 96, 3]))
  const w = ops.normal(k4, [3, 3, 3, 64], 0, 0.3)
  const stem = (p: { w: ops.Tensor }) => {
    const y = ops.bind(ops.primitives.conv2d, [x, p.w], { strides: [2, 2], pads: [0, 1, 0, 1] })
    const z = ops.bind(ops.primitives.maxPool, [ops.relu(y)], { size: [3, 3], strides: [2, 2], pads: [0, 1, 0, 1] })
    return ops.mean(ops.square(z))
  }
  const { value, grad } = ops.valueAndGrad(stem)({ w })
  largeChecks.push([
    `stem conv+relu+maxPool fwd+bwd, batch ${batch}x96x96 (3-D path)`,
    async () => {
      const [g, want] = await Promise.all([ops.run([value, grad.w], { backend: bigBe }), ops.run([value, grad.w], { backend: cpu })])
      let err = 0
      let mag = 0
      for (let k = 0; k < 2; k++)
        for (let i = 0; i < want[k].data.length; i++) {
          err = Math.max(err, Math.abs(g[k].data[i] - want[k].data[i]))
          mag = Math.max(mag, Math.abs(want[k].data[i]))
        }
      return err / mag
    },
  ])
}
for (const [name, f] of largeChecks) {
  const e = await f()
  const ok = e < 1e-3
  if (!ok) failures++
  rows.push([name, '1', ok ? `ok (rel err ${e.toExponential(1)})` : `FAIL rel err ${e.toExponential(2)}`])
}
console.log(`\n## correctness vs ref (${((performance.now() - t0) / 1000).toFixed(1)} s, ${failures} failing)\n`)
console.log(table(rows))
report.correctness = rows
report.failures = failures

// ---- 2. timings ----
const K = small ? 3 : 6
const corner = (y: ops.Tensor) =>
  ops.slice(
    y,
    y.shape.map(() => 0),
    y.shape.map(() => 1),
  )
/** Device ms per op from chains, and e2e ms of a single op (upload + kernel + readback). */
const perOp = async (chain: (k: number) => ops.Tensor, b: ops.Backend<any> = be, reps = small ? 5 : 3) => {
  const e2e = await timeIt(() => ops.run(chain(1), { backend: b }), reps)
  const one = await timeIt(() => ops.run(corner(chain(1)), { backend: b }), reps)
  const many = await timeIt(() => ops.run(corner(chain(K)), { backend: b }), reps)
  return { ms: Math.max((many - one) / (K - 1), 1e-3), e2e }
}
const timing: string[][] = [['op', 'shape', 'device ms/op', 'TFLOP/s', 'e2e ms (upload+run+read)']]
const addRow = (name: string, shape: string, flops: number, r: { ms: number; e2e: number }) =>
  timing.push([name, shape, fmtMs(r.ms), (flops / r.ms / 1e9).toFixed(3), fmtMs(r.e2e)])

for (const n of small ? [128, 256] : [1024, 2048]) {
  const a = ops.constant(ops.normal(k1, [n, n], 0, 1 / Math.sqrt(n)))
  const b = ops.constant(ops.normal(k2, [n, n]))
  const chain = (k: number) => {
    let y: ops.Tensor = b
    for (let i = 0; i < k; i++) y = ops.matmul(a, y)
    return y
  }
  addRow('matmul (vec4)', `${n}²`, 2 * n ** 3, await perOp(chain))
  addRow('matmul (scalar)', `${n}²`, 2 * n ** 3, await perOp(chain, beScalar))
}

const P = ops.primitives
if (P.conv2d && P.conv2dBackInput && P.conv2dBackFilter) {
  const shapes: [number, number, number][] = small
    ? [
        [2, 12, 16],
        [2, 6, 32],
      ]
    : [
        [64, 48, 64],
        [64, 12, 256],
      ]
  for (const [n, hw, c] of shapes) {
    const attrs = { strides: [1, 1], pads: [1, 1, 1, 1] }
    const x = ops.constant(ops.normal(k1, [n, hw, hw, c]))
    const w = ops.constant(ops.normal(k2, [3, 3, c, c], 0, 1 / Math.sqrt(9 * c)))
    const flops = 2 * n * hw * hw * 9 * c * c
    const shape = `N${n} ${hw}x${hw}x${c}, 3x3`
    const chainOf = (f: (y: ops.Tensor) => ops.Tensor) => (k: number) => {
      let y: ops.Tensor = x
      for (let i = 0; i < k; i++) y = f(y)
      return y
    }
    addRow('conv2d fwd (vec4)', shape, flops, await perOp(chainOf((y) => ops.bind(P.conv2d, [y, w], attrs))))
    addRow(
      'conv2d fwd (scalar)',
      shape,
      flops,
      await perOp(
        chainOf((y) => ops.bind(P.conv2d, [y, w], attrs)),
        beScalar,
      ),
    )
    addRow(
      'conv2d dx',
      shape,
      flops,
      await perOp(chainOf((y) => ops.bind(P.conv2dBackInput, [y, w], { ...attrs, inShape: [n, hw, hw, c] }))),
    )
    const dw = (k: number) => {
      let s = ops.bind(P.conv2dBackFilter, [x, x], { ...attrs, filterShape: [3, 3, c, c] })
      for (let i = 1; i < k; i++)
        s = ops.add(s, ops.bind(P.conv2dBackFilter, [x, ops.mul(x, 1 + i)], { ...attrs, filterShape: [3, 3, c, c] }))
      return s
    }
    addRow('conv2d dw', shape, flops, await perOp(dw))
  }
} else timing.push(['conv2d', '-', 'skipped: conv primitives not in this build', '', ''])
console.log(`\n## timings (${mode})\n`)
console.log(table(timing))
report.timings = timing

// ---- 3. a small ResNet-like network, one SGD step (forward + backward + update) ----
const net: string[][] = [['network', 'backend', 'ms/step', 'images/s']]
if (P.conv2d && P.avgPool) {
  const batch = small ? 4 : 64
  const size = small ? 16 : 48
  const step = resnetStep(k4, { batch, size, width: small ? 8 : 32 })
  for (const [name, b, fuse] of [
    [`gpu ${mode}`, be, true],
    [`gpu ${mode}, no fusion`, be, false],
    ...(small ? [['cpu', cpu, true]] : []),
  ] as [string, ops.Backend<any>, boolean][]) {
    const ms = await timeIt(() => ops.run(step.next(), { backend: b, fuse }), 3)
    net.push([`ResNet-like, ${batch}x${size}x${size}x3, 4 blocks`, name, fmtMs(ms), ((batch / ms) * 1000).toFixed(0)])
  }
} else net.push(['ResNet-like', '-', 'skipped: conv/pool primitives not in this build', ''])
// the paper's regularisers on one ResNet-34 conv stacked over 2 tasks: value + subgradient per step
if (ops.primitives.qr) {
  const c = small ? 32 : 512
  const [ka, kb] = ops.split(k1, 2)
  const wa = ops.normal(ka, [3, 3, c, c], 0, 0.05)
  const wb = ops.normal(kb, [3, 3, c, c], 0, 0.05)
  const norms: [string, (w: ops.Tensor) => ops.Tensor][] = [
    ['LAF (exact)', (w) => ops.laf(w)],
    ['Tucker (randomized, rank 32)', (w) => ops.tucker(w, 1, { rank: 32, key: ops.key(3) })],
  ]
  for (const [name, norm] of norms) {
    const { value, grad } = ops.valueAndGrad((p: { a: ops.Tensor; b: ops.Tensor }) => norm(ops.stackTasks([p.a, p.b])))({ a: wa, b: wb })
    for (const [bname, b] of [[`gpu ${mode}`, be], ...(small ? [['cpu', cpu]] : [])] as [string, ops.Backend<any>][]) {
      const ms = await timeIt(() => ops.run([value, grad.a, grad.b], { backend: b }), 3)
      net.push([`${name}, 3x3x${c}x${c} x 2 tasks, value + subgradient`, bname, fmtMs(ms), '-'])
    }
  }
}
console.log('\n## small ResNet, one training step; trace norms\n')
console.log(table(net))
report.network = net
report.kernels = be.stats()
console.log(`\nkernels compiled: ${be.stats().compiledKernels}, live buffers now: ${be.stats().liveBuffers}`)

const out = typeof process !== 'undefined' ? process.env.OUT : undefined
if (out) {
  const fs = await import('node:fs')
  fs.writeFileSync(`${out}/gpu-check.json`, JSON.stringify(report, null, 2))
}
// exit explicitly: a live WebGPU device can keep the event loop running
process.exit(failures > 0 ? 1 : 0)
