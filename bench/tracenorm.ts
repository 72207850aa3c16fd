/**
 * Cost of the tensor trace-norm regularisers (value + subgradient) on the conv stack of a two-task
 * ResNet-34 (36 convs: 7×7 stem, 3×3 convs of 64/128/256/512 channels, three stride-2 1×1 downsamples;
 * weights stacked to [kh, kw, cin, cout, T], T = 2) on the `cpu` backend, against the conv layers'
 * forward + backward expressed as their im2col GEMMs (same FLOPs; conv2d itself is not on main yet).
 * Layers with equal shapes cost the same, so each distinct shape is timed once and weighted by its count.
 *
 * Run: npx tsx bench/tracenorm.ts [--no-exact] [--reps N]
 */
import os from 'node:os'
import * as ss from '../src/index.ts'

const args = process.argv.slice(2)
const withExact = !args.includes('--no-exact')
const reps = Number(args[args.indexOf('--reps') + 1] || 1) || 1
const T = 2
const INPUT = 96 // the paper's 96 × 96 crops
const PAPER_BATCH = 256 // per task (paper, Sec. 4)

interface Layer {
  readonly name: string
  readonly shape: readonly [number, number, number, number]
  /** Output spatial size at a 96 × 96 input. */
  readonly out: number
  readonly count: number
}

// ResNet-34 at 96 × 96: stem → 48, max-pool → 24, stages at 24 / 12 / 6 / 3
const layers: readonly Layer[] = [
  { name: 'stem 7×7×3×64 /2', shape: [7, 7, 3, 64], out: INPUT / 2, count: 1 },
  { name: '3×3×64×64', shape: [3, 3, 64, 64], out: 24, count: 6 },
  { name: '3×3×64×128 /2', shape: [3, 3, 64, 128], out: 12, count: 1 },
  { name: '3×3×128×128', shape: [3, 3, 128, 128], out: 12, count: 7 },
  { name: '1×1×64×128 /2', shape: [1, 1, 64, 128], out: 12, count: 1 },
  { name: '3×3×128×256 /2', shape: [3, 3, 128, 256], out: 6, count: 1 },
  { name: '3×3×256×256', shape: [3, 3, 256, 256], out: 6, count: 11 },
  { name: '1×1×128×256 /2', shape: [1, 1, 128, 256], out: 6, count: 1 },
  { name: '3×3×256×512 /2', shape: [3, 3, 256, 512], out: 3, count: 1 },
  { name: '3×3×512×512', shape: [3, 3, 512, 512], out: 3, count: 5 },
  { name: '1×1×256×512 /2', shape: [1, 1, 256, 512], out: 3, count: 1 },
]

const cpu = ss.cpuBackend()
const now = () => performance.now()

/** Median wall time (ms) of `reps` runs after one warm-up, and the last result. */
const time = <R>(f: () => R, n = reps): { ms: number; out: R } => {
  let out = f()
  const ts: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = now()
    out = f()
    ts.push(now() - t0)
  }
  ts.sort((a, b) => a - b)
  return { ms: ts[Math.floor(ts.length / 2)], out }
}

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

type Norm = 'laf' | 'tucker' | 'tt'
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
const norms: Record<Norm, (w: ss.Tensor, o: ss.SvdOptions) => ss.Tensor> = {
  laf: (w, o) => ss.laf(w, 1, o),
  tucker: (w, o) => ss.tucker(w, 1, o),
  tt: (w, o) => ss.tt(w, 1, o),
}

/** Value + subgradient of a norm of the stacked task weights (stacking included: a step stacks per-task params). */
const regulariser = (norm: Norm, l: Layer, o: ss.SvdOptions) => {
  const ws = [ss.normal(ss.key(11), [...l.shape], 0, 0.05), ss.normal(ss.key(12), [...l.shape], 0, 0.05)]
  const { value, grad } = ss.valueAndGrad((p: ss.Tensor[]) => norms[norm](ss.stackTasks(p), o))(ws)
  return time(() => ss.runSync({ value, grad }, { backend: cpu }))
}

const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`)
const pct = (x: number) => (x >= 10 ? `${x.toFixed(0)}%` : x >= 0.1 ? `${x.toFixed(2)}%` : `${x.toFixed(4)}%`)
const sqnorm = (a: ArrayLike<number>, b?: ArrayLike<number>) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i] - (b ? b[i] : 0)) ** 2
  return s
}

const main = (): void => {
  console.log(`# trace-norm regularisers on a two-task ResNet-34 conv stack (cpu backend)`)
  console.log(`${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} · node ${process.version} · reps ${reps}\n`)
  let gemm1 = 0
  for (const l of layers) gemm1 += l.count * convGemmMs(l, T)
  const flops = layers.reduce((acc, l) => acc + l.count * 3 * 2 * T * l.out * l.out * l.shape[0] * l.shape[1] * l.shape[2] * l.shape[3], 0)
  const gemmPaper = gemm1 * PAPER_BATCH
  console.log(`conv fwd+bwd as im2col GEMMs, 1 image per task: ${fmtMs(gemm1)} measured (${(flops / 1e9).toFixed(2)} GFLOP, ${(flops / gemm1 / 1e6).toFixed(2)} GFLOP/s)`)
  console.log(`at the paper's batch ${PAPER_BATCH} per task: ${fmtMs(gemmPaper)} (linear extrapolation of the measured GEMMs)\n`)
  const rows: string[][] = []
  for (const norm of ['laf', 'tucker', 'tt'] as const) {
    const ref = new Map<Layer, { value: number; grad: Float32Array | Float64Array[] }>()
    for (const m of methods[norm]) {
      if (m.exact && !withExact && norm !== 'laf') continue
      let total = 0
      let dv = 0
      let v0 = 0
      let dg = 0
      let g0 = 0
      for (const l of layers) {
        const { ms, out } = regulariser(norm, l, m.opts)
        total += l.count * ms
        const value = out.value.data[0]
        const grads = out.grad.map((g) => g.data)
        if (m.exact) ref.set(l, { value, grad: grads as unknown as Float64Array[] })
        const r = ref.get(l)
        if (r) {
          const rg = r.grad as unknown as ArrayLike<number>[]
          dv += l.count * Math.abs(value - r.value)
          v0 += l.count * r.value
          grads.forEach((g, i) => {
            dg += l.count * sqnorm(g, rg[i])
            g0 += l.count * sqnorm(rg[i])
          })
        }
      }
      const known = ref.size > 0
      rows.push([
        norm.toUpperCase() === 'TUCKER' ? 'Tucker' : norm.toUpperCase(),
        m.label,
        fmtMs(total),
        pct((100 * total) / gemm1),
        pct((100 * total) / gemmPaper),
        known ? (dv / v0).toExponential(1) : 'n/a',
        known ? Math.sqrt(dg / g0).toExponential(1) : 'n/a',
      ])
      console.error(`done ${norm} ${m.label}: ${fmtMs(total)}`)
    }
  }
  const head = ['norm', 'SVD route', 'value+grad, 36 convs', '% of conv fwd+bwd, 1 img/task', `% of conv fwd+bwd, ${PAPER_BATCH} img/task`, 'value rel. err', 'grad rel. err']
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`
  console.log(line(head))
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`)
  for (const r of rows) console.log(line(r))
  console.log('\nerrors are relative to the exact route (Σ|Δvalue| / Σvalue, ‖Δgrad‖_F / ‖grad‖_F over all layers)')
}

main()
