/** Side-by-side GEMM-class kernel benchmark: softshare cpu (WASM SIMD), tfjs-wasm, gpu.js webasm, plain JS. */
import { conv2dBackFilterWasm, conv2dBackInputWasm, conv2dWasm, matmulWasm } from '../../src/backend/cpu/wasm/kernels.ts'
import { createWasmRuntime } from '../../src/backend/cpu/wasm/runtime.ts'
import { gpuConv, gpuConvDw, gpuConvDx, gpuMatmul } from './gpujs.ts'
import { jsConv, jsConvDw, jsConvDx, jsMatmul } from './plain.ts'
import { convShapes, geometry, matmulSizes } from './shapes.ts'
import { interleave, type Timed, wall } from './interleave.ts'
import { type TF, tfConvDw } from './tfjs.ts'
import type { Torch } from './torch.ts'

export const contenders = ['softshare', 'PyTorch', 'tfjs-wasm', 'gpu.js webasm', 'plain JS'] as const
export interface Row {
  readonly name: string
  readonly pass: string
  readonly flops: number
  /** seconds per call, per contender (NaN: not run) */
  readonly secs: readonly number[]
}

/** Wall and process CPU seconds per call (median reps / mean): one untimed warm-up, then reps filling ~0.4 s. */
export const measureBoth = async (f: () => unknown): Promise<{ wall: number; cpu: number }> => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await f()
  const cpuOf = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6
  if (performance.now() - t0 > 3000) return { wall: (performance.now() - t0) / 1000, cpu: cpuOf(process.cpuUsage(c0)) }
  const times: number[] = []
  const c1 = process.cpuUsage()
  const start = performance.now()
  while (times.length < 1 || (performance.now() - start < 400 && times.length < 20)) {
    const t = performance.now()
    await f()
    times.push((performance.now() - t) / 1000)
  }
  const cpu = cpuOf(process.cpuUsage(c1)) / times.length
  times.sort((a, b) => a - b)
  return { wall: times[times.length >> 1], cpu }
}

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5)
const size = (s: readonly number[]) => s.reduce((p, q) => p * q, 1)

/** Identical inputs of one conv shape for every contender: host arrays and their tfjs tensors (caller disposes). */
const convInputs = (tf: TF, sh: (typeof convShapes)[number]) => {
  const g = geometry(sh)
  const x = rand(size(g.x), 3)
  const w = rand(size(g.w), 4)
  const dy = rand(size(g.y), 5)
  const [tx, tw, tdy] = [tf.tensor4d(x, g.x as any), tf.tensor4d(w, g.w as any), tf.tensor4d(dy, g.y as any)]
  const pad: 'valid' | 'same' = g.pads.every((p) => p === 0) ? 'valid' : 'same'
  return { g, x, w, dy, tx, tw, tdy, pad }
}

/** Runs every kernel on every contender (identical inputs, calls interleaved) and returns the rows; `log` reports progress. */
export const benchKernels = async (tf: TF, torch: Torch | undefined, log: (s: string) => void): Promise<Row[]> => {
  const rows: Row[] = []
  // BENCH_ONLY=substring runs only the matching rows (e.g. BENCH_ONLY=layer4)
  const only = process.env.BENCH_ONLY
  for (const n of matmulSizes) {
    if (only && !`matmul ${n}`.includes(only)) continue
    const a = rand(n * n, 1)
    const b = rand(n * n, 2)
    const ta = tf.tensor2d(a, [n, n])
    const tb = tf.tensor2d(b, [n, n])
    const gm = gpuMatmul(n)
    const { medians: secs } = await interleave([
      wall(() => matmulWasm(a, b, [n, n], false, false, [n, n])),
      torch && (() => torch.call({ op: 'matmul', n })),
      wall(() => {
        const c = tf.matMul(ta, tb)
        c.dataSync()
        c.dispose()
      }),
      wall(() => gm(a, b)),
      wall(() => jsMatmul(a, b, n)),
    ])
    tf.dispose([ta, tb])
    rows.push({ name: `matmul ${n}`, pass: 'fwd', flops: 2 * n ** 3, secs })
    log(`matmul ${n} done`)
  }
  for (const sh of convShapes) {
    if (only && !`conv ${sh.name}`.includes(only)) continue
    const { g, x, w, dy, tx, tw, tdy, pad } = convInputs(tf, sh)
    const run = (f: () => any) => () => {
      const t = f()
      t.dataSync()
      t.dispose()
    }
    const passes = [
      ['fwd', () => conv2dWasm(x, w, g), run(() => tf.conv2d(tx, tw, sh.s, pad)), gpuConv(g), [x, w], () => jsConv(x, w, g)],
      [
        'dx',
        () => conv2dBackInputWasm(dy, w, g),
        run(() => tf.conv2dTranspose(tdy, tw, g.x as any, sh.s, pad)),
        gpuConvDx(g),
        [dy, w],
        () => jsConvDx(dy, w, g),
      ],
      [
        'dw',
        () => conv2dBackFilterWasm(x, dy, g),
        run(() => tfConvDw(tf, tx, tdy, g.w, sh.s, g.pads)),
        gpuConvDw(g),
        [x, dy],
        () => jsConvDw(x, dy, g),
      ],
    ] as const
    for (const [pass, ours, theirs, gk, gin, js] of passes) {
      const pt: Timed | undefined = torch && (() => torch.call({ op: 'conv', pass, ...sh }))
      const { medians: secs } = await interleave([wall(ours), pt, wall(theirs), wall(() => gk(...gin)), wall(js)])
      rows.push({ name: `conv ${sh.name}`, pass, flops: g.flops, secs })
    }
    tf.dispose([tx, tw, tdy])
    log(`conv ${sh.name} done`)
  }
  return rows
}

const gf = (flops: number, s: number) => (Number.isFinite(s) ? (flops / s / 1e9).toFixed(1) : '–')
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? `${(b / a).toFixed(1)}×` : '–')

/** Markdown table: GFLOP/s per contender and softshare's speed-up over each other contender. */
export const kernelTable = (rows: readonly Row[]): string => {
  const head = `| kernel | pass | ${contenders.map((c) => `${c} GFLOP/s`).join(' | ')} | ${contenders
    .slice(1)
    .map((c) => `vs ${c}`)
    .join(' | ')} |`
  const sep = `|${'---|'.repeat(2 + 2 * contenders.length - 1)}`
  const body = rows.map(
    (r) =>
      `| ${r.name} | ${r.pass} | ${r.secs.map((s) => gf(r.flops, s)).join(' | ')} | ${r.secs
        .slice(1)
        .map((s) => ratio(r.secs[0], s))
        .join(' | ')} |`,
  )
  return [head, sep, ...body].join('\n')
}

/** Median process CPU seconds of `reps` calls of a one-thread PyTorch request after one warm-up (timed inside Python). */
const torchMedian = async (torch: Torch, request: Record<string, unknown>, reps = 5): Promise<number> => {
  const req = { ...request, clock: 'cpu' }
  await torch.call(req)
  const xs: number[] = []
  for (let i = 0; i < reps; i++) xs.push(await torch.call(req))
  return xs.sort((a, b) => a - b)[reps >> 1]
}

/**
 * Per core, all by process CPU time: softshare's kernels on one thread, tfjs-wasm (single-threaded in Node) and
 * PyTorch on one thread (`torch1`, timed inside Python; NaN when absent). Much less sensitive than wall time to other
 * processes on a shared machine; `of PyTorch` is softshare's per-thread speed as a share of PyTorch's.
 */
export const benchOneCore = async (tf: TF, torch1: Torch | undefined, log: (s: string) => void): Promise<string> => {
  const rt = createWasmRuntime(1)
  const only = process.env.BENCH_ONLY
  const lines = [
    '| one core | pass | softshare GFLOP/s (CPU time) | tfjs-wasm GFLOP/s (CPU time) | vs tfjs-wasm | PyTorch 1 thread GFLOP/s (CPU time) | softshare / PyTorch |',
    '|---|---|---|---|---|---|---|',
  ]
  const row = async (name: string, pass: string, flops: number, ours: number, theirs: number, req: Record<string, unknown>) => {
    const pt = torch1 ? await torchMedian(torch1, req) : Number.NaN
    const share = Number.isFinite(pt) ? `${((100 * pt) / ours).toFixed(0)}%` : '–'
    lines.push(`| ${name} | ${pass} | ${gf(flops, ours)} | ${gf(flops, theirs)} | ${ratio(ours, theirs)} | ${gf(flops, pt)} | ${share} |`)
  }
  const tfRun = (f: () => any) => () => {
    const t = f()
    t.dataSync()
    t.dispose()
  }
  for (const n of matmulSizes) {
    if (only && !`matmul ${n}`.includes(only)) continue
    const a = rand(n * n, 1)
    const b = rand(n * n, 2)
    const [ta, tb] = [tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])]
    const ours = await measureBoth(() => matmulWasm(a, b, [n, n], false, false, [n, n], rt))
    const theirs = await measureBoth(tfRun(() => tf.matMul(ta, tb)))
    await row(`matmul ${n}`, 'fwd', 2 * n ** 3, ours.cpu, theirs.cpu, { op: 'matmul', n })
    tf.dispose([ta, tb])
  }
  for (const sh of convShapes) {
    if (only && !`conv ${sh.name}`.includes(only)) continue
    const { g, x, w, dy, tx, tw, tdy, pad } = convInputs(tf, sh)
    const passes = [
      ['fwd', () => conv2dWasm(x, w, g, rt), tfRun(() => tf.conv2d(tx, tw, sh.s, pad))],
      ['dx', () => conv2dBackInputWasm(dy, w, g, rt), tfRun(() => tf.conv2dTranspose(tdy, tw, g.x as any, sh.s, pad))],
      ['dw', () => conv2dBackFilterWasm(x, dy, g, rt), tfRun(() => tfConvDw(tf, tx, tdy, g.w, sh.s, g.pads))],
    ] as const
    for (const [pass, ours, theirs] of passes)
      await row(`conv ${sh.name}`, pass, g.flops, (await measureBoth(ours)).cpu, (await measureBoth(theirs)).cpu, {
        op: 'conv',
        pass,
        ...sh,
      })
    tf.dispose([tx, tw, tdy])
  }
  log('one-core table done')
  return lines.join('\n')
}
