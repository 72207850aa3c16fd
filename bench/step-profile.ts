/** ResNet-18 (96×96, batch 8 or --batch N) softshare cpu training step alone: wall and process CPU time, and per-op CPU time with --ops. */
import { cpuBackend, runSync, sub, mul, treeZip, valueAndGrad } from '../src/index.ts'
import { batch, initResNet18, softshareLossForProfile } from './cpu/resnet.ts'
import { wasmRuntime } from '../src/backend/cpu/wasm/runtime.ts'
import { availableParallelism, loadavg } from 'node:os'

const rt = wasmRuntime()
for (let i = 0; i < 300 && rt.threads() < availableParallelism(); i++) await new Promise((r) => setTimeout(r, 10))
const profile = process.argv.includes('--ops')
const steps = Number(process.argv.slice(2).find((a, i, all) => /^\d+$/.test(a) && all[i - 1] !== '--batch') ?? 4)
const base = cpuBackend()
const opTime = new Map<string, number>()
const opElems = new Map<string, number>()
const backend = profile
  ? {
      ...base,
      exec: (call: any, ins: any) => {
        // process CPU time (all threads): far less disturbed than wall time by other jobs on a shared machine
        const c0 = process.cpuUsage()
        const r = base.exec(call, ins)
        const c = process.cpuUsage(c0)
        const key = call.op === 'fused' ? `fused(${call.attrs.steps.length})` : call.op
        opTime.set(key, (opTime.get(key) ?? 0) + (c.user + c.system) / 1000)
        opElems.set(
          key,
          (opElems.get(key) ?? 0) +
            call.outShape.reduce((a: number, b: number) => a * b, 1) +
            call.inShapes.reduce((a: number, s: number[]) => a + s.reduce((x, y) => x * y, 1), 0),
        )
        return r
      },
    }
  : base
let p: any = initResNet18(1)
const batchArg = process.argv.indexOf('--batch')
const { x, labels } = batch(2, batchArg > 0 ? Number(process.argv[batchArg + 1]) : 8)
let traceMs = 0
const step = (): number => {
  const t0 = performance.now()
  const { value, grad } = valueAndGrad((q: any) => softshareLossForProfile(q, x, labels))(p)
  const next = treeZip(p, grad as any, (w: any, g: any) => sub(w, mul(g, 0.05)))
  traceMs += performance.now() - t0
  const r = runSync({ loss: value, params: next }, { backend: backend as any }) as any
  p = r.params
  return r.loss.data[0]
}
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
step()
opTime.clear()
opElems.clear()
traceMs = 0
let best = Infinity
let bestCpu = Infinity
const losses: number[] = []
for (let i = 0; i < steps; i++) {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  losses.push(step())
  const wall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  const cpu = (c.user + c.system) / 1e6
  best = Math.min(best, wall)
  bestCpu = Math.min(bestCpu, cpu)
  console.log(`step ${i}: wall ${wall.toFixed(3)} s, cpu ${cpu.toFixed(3)} s, loss ${losses[losses.length - 1].toFixed(4)}`)
}
console.log(
  `best wall ${best.toFixed(3)} s, best cpu ${bestCpu.toFixed(3)} s; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
if (profile)
  console.log(
    `trace+differentiate ${(traceMs / steps).toFixed(1)} ms/step, kernels (CPU time, all threads) ${([...opTime.values()].reduce((a, b) => a + b, 0) / steps).toFixed(1)} ms/step`,
  )
if (profile)
  for (const [k, v] of [...opTime].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(
      `${k.padEnd(24)} ${(v / steps).toFixed(1)} ms/step, ${((opElems.get(k) ?? 0) / steps / 1e6).toFixed(1)} M elements in+out, ${((v * 1e6) / (opElems.get(k) ?? 1)).toFixed(2)} ns/element`,
    )
process.exit(0)
