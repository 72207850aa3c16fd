/** softshare's conv kernels alone on one thread, GFLOP/s by process CPU time per ResNet layer shape (steady under machine load). */
import { conv2dBackFilterWasm, conv2dBackInputWasm, conv2dWasm, matmulWasm } from '../src/backend/cpu/wasm/kernels.ts'
import { createWasmRuntime } from '../src/backend/cpu/wasm/runtime.ts'
import { convShapes, geometry } from './cpu/shapes.ts'

const rt = createWasmRuntime(1)
const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5)
const size = (s: readonly number[]) => s.reduce((p, q) => p * q, 1)
const only = process.argv[2]
/** Median CPU seconds per call over 5 calls after a warm-up. */
const cpuSecs = (f: () => unknown): number => {
  f()
  const t: number[] = []
  for (let i = 0; i < 5; i++) {
    const c = process.cpuUsage()
    f()
    const d = process.cpuUsage(c)
    t.push((d.user + d.system) / 1e6)
  }
  return t.sort((a, b) => a - b)[2]
}
const a = rand(1024 * 1024, 1)
const b = rand(1024 * 1024, 2)
if (!only || 'matmul'.includes(only))
  console.log(
    `matmul 1024: ${((2 * 1024 ** 3) / cpuSecs(() => matmulWasm(a, b, [1024, 1024], false, false, [1024, 1024], rt)) / 1e9).toFixed(1)} GFLOP/s`,
  )
for (const sh of convShapes) {
  if (only && !sh.name.includes(only)) continue
  const g = geometry(sh)
  const x = rand(size(g.x), 3)
  const w = rand(size(g.w), 4)
  const dy = rand(size(g.y), 5)
  const gf = (f: () => unknown) => (g.flops / cpuSecs(f) / 1e9).toFixed(1)
  console.log(
    `${sh.name}: fwd ${gf(() => conv2dWasm(x, w, g, rt))} dx ${gf(() => conv2dBackInputWasm(dy, w, g, rt))} dw ${gf(() => conv2dBackFilterWasm(x, dy, g, rt))} GFLOP/s`,
  )
}
process.exit(0)
