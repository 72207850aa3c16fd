/** GFLOP/s of the cpu (plain JS) conv kernels, and pooling times: prints, asserts nothing. */
import type { KernelCall } from '../src/index.ts'
import { cpuBackend, key, normal, split } from '../src/index.ts'

const be = cpuBackend()
const time = (call: KernelCall, ins: Float32Array[], reps: number): number => {
  for (let i = 0; i < 2; i++) be.release(be.exec(call, ins) as Float32Array) // warm up the JIT
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) be.release(be.exec(call, ins) as Float32Array)
  return (performance.now() - t0) / reps
}

/** [n, h, w, cin, cout, k, stride, pad] — the first is the headline shape. */
const shapes: [number, number, number, number, number, number, number, number][] = [
  [8, 24, 24, 64, 64, 3, 1, 1],
  [8, 56, 56, 3, 64, 7, 2, 3], // ResNet stem on 112×112 faces
  [8, 14, 14, 256, 256, 3, 1, 1],
  [8, 28, 28, 128, 256, 1, 1, 0], // pointwise: no im2col
]
for (const [n, h, w, cin, cout, k, s, p] of shapes) {
  const oh = Math.floor((h + 2 * p - k) / s) + 1
  const ow = Math.floor((w + 2 * p - k) / s) + 1
  const [k1, k2, k3] = split(key(0), 3)
  const xs = [n, h, w, cin]
  const fs = [k, k, cin, cout]
  const ys = [n, oh, ow, cout]
  const x = be.upload(normal(k1, xs))
  const f = be.upload(normal(k2, fs))
  const dy = be.upload(normal(k3, ys))
  const attrs = { strides: [s, s], pads: [p, p, p, p] }
  const flops = 2 * n * oh * ow * cout * k * k * cin
  const calls: [string, KernelCall, Float32Array[]][] = [
    ['fwd', { op: 'conv2d', attrs, inShapes: [xs, fs], outShape: ys }, [x, f]],
    ['dx ', { op: 'conv2dBackInput', attrs: { ...attrs, inShape: xs }, inShapes: [ys, fs], outShape: xs }, [dy, f]],
    ['dw ', { op: 'conv2dBackFilter', attrs: { ...attrs, filterShape: fs }, inShapes: [xs, ys], outShape: fs }, [x, dy]],
  ]
  for (const [name, call, ins] of calls) {
    const ms = time(call, ins, 5)
    console.log(
      `conv ${name} N${n} ${h}x${w} ${cin}->${cout} ${k}x${k}/${s}: ${ms.toFixed(1)} ms, ${(flops / ms / 1e6).toFixed(2)} GFLOP/s`,
    )
  }
}

{
  const xs = [8, 56, 56, 64]
  const ys = [8, 28, 28, 64]
  const x = be.upload(normal(key(1), xs))
  const dy = be.upload(normal(key(2), ys))
  const attrs = { size: [3, 3], strides: [2, 2], pads: [0, 1, 0, 1] }
  for (const [op, ins, inShapes, outShape, extra] of [
    ['maxPool', [x], [xs], ys, {}],
    ['maxPoolBack', [x, dy], [xs, ys], xs, {}],
    ['avgPool', [x], [xs], ys, {}],
    ['avgPoolBack', [dy], [ys], xs, { inShape: xs }],
  ] as const) {
    const ms = time({ op, attrs: { ...attrs, ...extra }, inShapes, outShape }, [...ins], 5)
    console.log(`${op} [8,56,56,64] 3x3/2 same: ${ms.toFixed(1)} ms`)
  }
}
