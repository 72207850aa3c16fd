import { conv2dWasm, matmulWasm } from './src/backend/cpu/wasm/kernels.ts'
import { createWasmRuntime } from './src/backend/cpu/wasm/runtime.ts'
import { convShapes, geometry } from './bench/cpu/shapes.ts'
const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5)
const rts = [createWasmRuntime(1, { relaxed: false }), createWasmRuntime(1, { relaxed: true })]
const a = rand(512 * 512, 1), b = rand(512 * 512, 2)
const g = geometry(convShapes[5])
const x = rand(g.x.reduce((p, q) => p * q), 3), w = rand(g.w.reduce((p, q) => p * q), 4)
const cpu = (f: () => unknown) => { const c = process.cpuUsage(); f(); const d = process.cpuUsage(c); return (d.user + d.system) / 1e6 }
for (const [name, flops, f] of [['matmul 512', 2 * 512 ** 3, (rt: any) => matmulWasm(a, b, [512, 512], false, false, [512, 512], rt)], ['conv layer2', g.flops, (rt: any) => conv2dWasm(x, w, g, rt)]] as const) {
  const t: number[][] = [[], []]
  for (let r = 0; r < 15; r++) for (let i = 0; i < 2; i++) t[i].push(cpu(() => f(rts[i])))
  const med = (v: number[]) => v.sort((p, q) => p - q)[v.length >> 1]
  console.log(name, 'baseline', (flops / med(t[0]) / 1e9).toFixed(1), 'relaxed', (flops / med(t[1]) / 1e9).toFixed(1), 'GFLOP/s (CPU time, 1 thread)')
}
const r0 = matmulWasm(a, b, [512, 512], false, false, [512, 512], rts[0]).slice(), r1 = matmulWasm(a, b, [512, 512], false, false, [512, 512], rts[1]).slice()
let d = 0; for (let i = 0; i < r0.length; i++) d = Math.max(d, Math.abs(r0[i] - r1[i]))
console.log('max |baseline − relaxed|', d)
process.exit(0)
