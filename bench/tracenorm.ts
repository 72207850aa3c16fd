/**
 * Cost of the tensor trace-norm regularisers (value + subgradient) on the conv stack of a two-task
 * ResNet-34 (36 convs: 7×7 stem, 3×3 convs of 64/128/256/512 channels, three stride-2 1×1 downsamples;
 * weights stacked to [kh, kw, cin, cout, T], T = 2) on the `cpu` backend, against the same layers' conv2d
 * forward + backward (dx and dw) at 1 image per task, measured, and at the paper's batch, extrapolated.
 * Layers with equal shapes cost the same, so each distinct shape is timed once and weighted by its count.
 *
 * Run: npx tsx bench/tracenorm.ts [--no-exact] [--reps N]   (N timed runs per measurement, default 3; min taken)
 */
import os from 'node:os'
import * as ss from '../src/index.ts'
import { fmtMs, type Norm, normName, norms, padTable, pct, timeSync } from './lib/tracenorm.ts'

const args = process.argv.slice(2)
const withExact = !args.includes('--no-exact')
const reps = args.includes('--reps') ? Number(args[args.indexOf('--reps') + 1]) : 3
const T = 2
const INPUT = 96 // the paper's 96 × 96 crops
const PAPER_BATCH = 256 // per task (paper, Sec. 4)

interface Layer {
  readonly name: string
  readonly shape: readonly [number, number, number, number]
  /** Output spatial size at a 96 × 96 input. */
  readonly out: number
  readonly count: number
  readonly stride?: number
}

// ResNet-34 at 96 × 96: stem → 48, max-pool → 24, stages at 24 / 12 / 6 / 3
const layers: readonly Layer[] = [
  { name: 'stem 7×7×3×64 /2', shape: [7, 7, 3, 64], out: INPUT / 2, count: 1, stride: 2 },
  { name: '3×3×64×64', shape: [3, 3, 64, 64], out: 24, count: 6 },
  { name: '3×3×64×128 /2', shape: [3, 3, 64, 128], out: 12, count: 1, stride: 2 },
  { name: '3×3×128×128', shape: [3, 3, 128, 128], out: 12, count: 7 },
  { name: '1×1×64×128 /2', shape: [1, 1, 64, 128], out: 12, count: 1, stride: 2 },
  { name: '3×3×128×256 /2', shape: [3, 3, 128, 256], out: 6, count: 1, stride: 2 },
  { name: '3×3×256×256', shape: [3, 3, 256, 256], out: 6, count: 11 },
  { name: '1×1×128×256 /2', shape: [1, 1, 128, 256], out: 6, count: 1, stride: 2 },
  { name: '3×3×256×512 /2', shape: [3, 3, 256, 512], out: 3, count: 1, stride: 2 },
  { name: '3×3×512×512', shape: [3, 3, 512, 512], out: 3, count: 5 },
  { name: '1×1×256×512 /2', shape: [1, 1, 256, 512], out: 3, count: 1, stride: 2 },
]

const cpu = ss.cpuBackend()
const time = <R>(f: () => R, n = reps, warm = true) => timeSync(f, n, warm)

/** im2col GEMMs of one conv layer's forward + backward (y = X W, dX = dY Wᵀ, dW = Xᵀ dY) for `images` images. */
const convGemmMs = (l: Layer, images: number): number => {
  const [kh, kw, cin, cout] = l.shape
  const rows = images * l.out * l.out
  const k = kh * kw * cin
  const x = ss.normal(ss.key(1), [rows, k])
  const w = ss.normal(ss.key(2), [k, cout])
  const dy = ss.normal(ss.key(3), [rows, cout])
  const outs = [ss.matmul(x, w), ss.matmul(dy, w, { transB: true }), ss.matmul(x, dy, { transA: true })]
  return time(() => ss.runSync(outs, { backend: cpu })).ms
}

/** conv2d forward + backward (dx, dw) of one layer for `images` images, 'same' padding: median ms. */
const convMs = (l: Layer, images: number): number => {
  const s = l.stride ?? 1
  const x = ss.normal(ss.key(1), [images, l.out * s, l.out * s, l.shape[2]])
  const w = ss.normal(ss.key(2), [...l.shape], 0, 0.05)
  const { out, vjp } = ss.vjp((p: ss.Tensor[]) => ss.conv2d(p[0], p[1], { strides: s, padding: 'same' }), [x, w])
  const dy = ss.normal(ss.key(3), out.shape)
  const outs = [out, ...vjp(dy)]
  return time(() => ss.runSync(outs, { backend: cpu })).ms
}

interface Method {
  readonly label: string
  readonly opts: ss.SvdOptions
  readonly exact?: boolean
}
const methods: Record<Norm, readonly Method[]> = {
  laf: [{ label: 'exact = thin W(WᵀW)^{+½}', opts: { method: 'exact' }, exact: true }],
  tucker: [
    { label: 'exact (Gram eigen, all modes)', opts: { method: 'exact' }, exact: true },
    { label: 'auto: thin ≤ 8, randomized k=8', opts: { rank: 8, key: ss.key(7) } },
    { label: 'auto: thin ≤ 8, randomized k=32', opts: { rank: 32, key: ss.key(7) } },
  ],
  tt: [
    { label: 'exact (Gram eigen, all splits)', opts: { method: 'exact' }, exact: true },
    { label: 'auto: thin ≤ 8, randomized k=8', opts: { rank: 8, key: ss.key(7) } },
    { label: 'auto: thin ≤ 8, randomized k=32', opts: { rank: 32, key: ss.key(7) } },
  ],
}
/** Value + subgradient of a norm of the stacked task weights (stacking included: a step stacks per-task params). */
const regulariser = (norm: Norm, l: Layer, o: ss.SvdOptions) => {
  const ws = [ss.normal(ss.key(11), [...l.shape], 0, 0.05), ss.normal(ss.key(12), [...l.shape], 0, 0.05)]
  const { value, grad } = ss.valueAndGrad((p: ss.Tensor[]) => norms[norm](ss.stackTasks(p), o))(ws)
  // the exact Tucker/TT routes take seconds per layer: a single timed run
  const slow = o.method === 'exact' && norm !== 'laf'
  return time(() => ss.runSync({ value, grad }, { backend: cpu }), slow ? 1 : reps, !slow)
}

const sqnorm = (a: ArrayLike<number>, b?: ArrayLike<number>) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i] - (b ? b[i] : 0)) ** 2
  return s
}

interface Stat {
  readonly norm: Norm
  readonly m: Method
  total: number
  dv: number
  v0: number
  dg: number
  g0: number
}

const main = (): void => {
  console.log(`# trace-norm regularisers on a two-task ResNet-34 conv stack (cpu backend)`)
  console.log(
    `${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} · node ${process.version} · min of ${reps} runs\n`,
  )
  const stats: Stat[] = []
  for (const norm of ['laf', 'tucker', 'tt'] as const)
    for (const m of methods[norm])
      if (!m.exact || withExact || norm === 'laf') stats.push({ norm, m, total: 0, dv: 0, v0: 0, dg: 0, g0: 0 })
  let gemm1 = 0
  let conv1 = 0
  // layer by layer, so that the conv baseline and the regularisers are timed in the same window of a shared VM
  for (const l of layers) {
    gemm1 += l.count * convGemmMs(l, T)
    conv1 += l.count * convMs(l, T)
    const ref = new Map<Norm, { value: number; grads: ArrayLike<number>[] }>()
    for (const st of stats) {
      const { ms, out } = regulariser(st.norm, l, st.m.opts)
      st.total += l.count * ms
      const value = out.value.data[0]
      const grads = out.grad.map((g) => g.data)
      if (st.m.exact) ref.set(st.norm, { value, grads })
      const r = ref.get(st.norm)
      if (!r) continue
      st.dv += l.count * Math.abs(value - r.value)
      st.v0 += l.count * r.value
      grads.forEach((g, i) => {
        st.dg += l.count * sqnorm(g, r.grads[i])
        st.g0 += l.count * sqnorm(r.grads[i])
      })
    }
    console.error(`done ${l.name}`)
  }
  const flops = layers.reduce((acc, l) => acc + l.count * 3 * 2 * T * l.out * l.out * l.shape[0] * l.shape[1] * l.shape[2] * l.shape[3], 0)
  const convPaper = conv1 * PAPER_BATCH
  console.log(
    `conv2d fwd+bwd (dx, dw) of the 36 convs, 1 image per task (${T} images): ${fmtMs(conv1)} measured (${(flops / 1e9).toFixed(2)} GFLOP, ${(flops / conv1 / 1e6).toFixed(2)} GFLOP/s)`,
  )
  console.log(`  same FLOPs as im2col matmul GEMMs: ${fmtMs(gemm1)} (${(flops / gemm1 / 1e6).toFixed(2)} GFLOP/s)`)
  console.log(`  at the paper's batch ${PAPER_BATCH} per task: ${fmtMs(convPaper)} (linear extrapolation of the measured convs)\n`)
  const rows = stats.map((st) => [
    normName(st.norm),
    st.m.label,
    fmtMs(st.total),
    pct((100 * st.total) / conv1),
    pct((100 * st.total) / convPaper),
    st.v0 > 0 ? (st.dv / st.v0).toExponential(1) : 'n/a',
    st.g0 > 0 ? Math.sqrt(st.dg / st.g0).toExponential(1) : 'n/a',
  ])
  const head = [
    'norm',
    'SVD route',
    'value+grad, 36 convs',
    '% of conv fwd+bwd, 1 img/task',
    `% of conv fwd+bwd, ${PAPER_BATCH} img/task`,
    'value rel. err',
    'grad rel. err',
  ]
  console.log(padTable(head, rows))
  console.log('\nerrors are relative to the exact route (Σ|Δvalue| / Σvalue, ‖Δgrad‖_F / ‖grad‖_F over all layers)')
}

main()
