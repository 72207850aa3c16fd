/** GFLOP/s of the cpu (plain JS) conv kernels at N8 24×24 64→64 3×3 'same': prints, asserts nothing. */
import { cpuBackend, key, normal, split } from '../src/index.ts'
import type { KernelCall } from '../src/index.ts'

const [n, h, w, cin, cout, k] = [8, 24, 24, 64, 64, 3]
const be = cpuBackend()
const [k1, k2, k3] = split(key(0), 3)
const x = be.upload(normal(k1, [n, h, w, cin]))
const f = be.upload(normal(k2, [k, k, cin, cout]))
const dy = be.upload(normal(k3, [n, h, w, cout]))
const attrs = { strides: [1, 1], pads: [1, 1, 1, 1] }
const xs = [n, h, w, cin]
const fs = [k, k, cin, cout]
const ys = [n, h, w, cout]
const flops = 2 * n * h * w * cout * k * k * cin
const calls: [string, KernelCall, Float32Array[]][] = [
  ['fwd', { op: 'conv2d', attrs, inShapes: [xs, fs], outShape: ys }, [x, f]],
  ['dx ', { op: 'conv2dBackInput', attrs: { ...attrs, inShape: xs }, inShapes: [ys, fs], outShape: xs }, [dy, f]],
  ['dw ', { op: 'conv2dBackFilter', attrs: { ...attrs, filterShape: fs }, inShapes: [xs, ys], outShape: fs }, [x, dy]],
]
for (const [name, call, ins] of calls) {
  for (let i = 0; i < 3; i++) be.release(be.exec(call, ins) as Float32Array) // warm up the JIT
  const reps = 10
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) be.release(be.exec(call, ins) as Float32Array)
  const ms = (performance.now() - t0) / reps
  console.log(`conv ${name} N${n} ${h}x${w} ${cin}->${cout} ${k}x${k}: ${ms.toFixed(1)} ms, ${(flops / ms / 1e6).toFixed(2)} GFLOP/s`)
}
