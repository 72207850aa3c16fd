/**
 * The fixed cost of a training step on the cpu backend: ResNet-18 (96×96, SGD) at batch 1 (default; `--batch N`),
 * step wall time minus the wall time spent inside kernels. Two ways of stepping, interleaved step by step (A B A B):
 * `run` (trace, differentiate and plan every step, results copied out) and `compile` (the cached plan, old
 * parameters donated, so they stay resident in WASM memory). Prints medians, the load average and the lscpu line.
 * Usage: `npx tsx bench/fixed-cost.ts [steps] [--batch N]`.
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'
import { compile, cpuBackend, type HostTensor, mul, runSync, sub, treeZip, valueAndGrad } from '../src/index.ts'
import type { Backend } from '../src/backend/backend.ts'
import { wasmRuntime } from '../src/backend/cpu/wasm/runtime.ts'
import { batch, initResNet18, softshareLossForProfile } from './cpu/resnet.ts'

const rt = wasmRuntime()
for (let i = 0; i < 300 && rt.threads() < availableParallelism(); i++) await new Promise((r) => setTimeout(r, 10))
const args = process.argv.slice(2)
const bi = args.indexOf('--batch')
const n = bi >= 0 ? Number(args[bi + 1]) : 1
const steps = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--batch') ?? 10)
const LR = 0.01

/** Process CPU time (all threads) in ms: outside kernels only the calling thread works, so it is the fixed cost's CPU. */
const cpuMs = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

/** A cpu backend that adds the wall and CPU time of every kernel call to `ms`. */
const timed = (ms: { kernels: number; kernelsCpu: number }): Backend<Float32Array> => {
  const be = cpuBackend()
  return {
    ...be,
    exec: (call, ins) => {
      const t0 = performance.now()
      const c0 = cpuMs()
      const r = be.exec(call, ins)
      ms.kernelsCpu += cpuMs() - c0
      ms.kernels += performance.now() - t0
      return r
    },
  }
}

const { x, labels } = batch(2, n)
const sgd = (a: { p: any; x: HostTensor; labels: HostTensor }) => {
  const { value, grad } = valueAndGrad((q: any) => softshareLossForProfile(q, a.x, a.labels))(a.p)
  return { loss: value, p: treeZip(a.p, grad as any, (w: any, g: any) => sub(w, mul(g, LR))) }
}
const variants = ['run', 'compile'].map((name) => {
  const ms = { kernels: 0, kernelsCpu: 0 }
  const backend = timed(ms)
  const f = compile(sgd, { backend, donate: (a) => a.p })
  let p: any = initResNet18(1)
  const rows: { wall: number; kernels: number; cpu: number; kernelsCpu: number; loss: number }[] = []
  const step = () => {
    ms.kernels = 0
    ms.kernelsCpu = 0
    const c0 = cpuMs()
    const t0 = performance.now()
    const r: any = name === 'run' ? runSync(sgd({ p, x, labels }), { backend }) : f.sync({ p, x, labels })
    const loss = r.loss.data[0]
    p = r.p
    rows.push({ wall: performance.now() - t0, kernels: ms.kernels, cpu: cpuMs() - c0, kernelsCpu: ms.kernelsCpu, loss })
  }
  return { name, step, rows }
})
for (const v of variants) v.step() // warm-up (and the compiled variant's one trace)
for (const v of variants) v.rows.length = 0
for (let i = 0; i < steps; i++) for (const v of variants) v.step()

const median = (a: number[]) => {
  const s = [...a].sort((p, q) => p - q)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const lscpu = spawnSync('lscpu', { encoding: 'utf8' }).stdout?.match(/^Model name:\s*(.*)$/m)?.[1] ?? '(lscpu unavailable)'
console.log(`# fixed cost per step, ResNet-18 96², batch ${n}, SGD; ${steps} interleaved steps each, medians`)
console.log(
  `lscpu model line: ${lscpu}; threads ${rt.threads()}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
console.log(
  '| stepping | step wall ms | kernels wall ms | fixed wall ms (step − kernels) | fixed CPU ms (step − kernels) | losses first → last |',
)
console.log(
  '| -------- | -----------: | --------------: | -----------------------------: | ----------------------------: | ------------------- |',
)
for (const v of variants) {
  const m = (f: (r: (typeof v.rows)[number]) => number) => median(v.rows.map(f)).toFixed(1)
  console.log(
    `| ${v.name} | ${m((r) => r.wall)} | ${m((r) => r.kernels)} | ${m((r) => r.wall - r.kernels)} | ${m((r) => r.cpu - r.kernelsCpu)} | ${v.rows[0].loss.toFixed(4)} → ${v.rows[v.rows.length - 1].loss.toFixed(4)} |`,
  )
}
process.exit(0)
