/**
 * Elementwise fusion gain on the gpu backend: the same graphs run with and without the fusion pass.
 *   npx tsx bench/fusion.ts [--size 1000000] [--reps 5]
 * Uses WebGPU when an adapter answers, else gpu.js webasm. Reports kernel calls and wall time per run.
 */
import * as ops from '../src/index.ts'
import { args, fmtMs, table, timeIt } from './lib/timing.ts'

const opt = args(process.argv.slice(2))
const n = Number(opt.size ?? 1_000_000)
const reps = Number(opt.reps ?? 5)
const probe = await ops.probeWebGPU()
const be = ops.gpuBackend({ mode: probe.ok ? 'webgpu' : 'webasm' })
const [k1, k2, k3] = ops.split(ops.key(1), 3)
const x = ops.constant(ops.normal(k1, [n]))
const y = ops.constant(ops.normal(k2, [n]))
const bias = ops.constant(ops.normal(k3, [1000]))

/** Counts kernel calls of one run. */
const calls = async (out: unknown, fuse: boolean): Promise<number> => {
  let c = 0
  const counting: ops.Backend<any> = {
    ...be,
    exec: (call, ins) => {
      c++
      return be.exec(call, ins)
    },
  }
  await ops.run(out, { backend: counting, fuse })
  return c
}

const graphs: [string, () => unknown][] = [
  // a GELU-like activation: 8 elementwise ops on one shape
  [
    'gelu-like chain (8 ops)',
    () => ops.mul(ops.mul(x, 0.5), ops.add(1, ops.tanh(ops.mul(0.7978845608, ops.add(x, ops.mul(0.044715, ops.mul(x, ops.square(x)))))))),
  ],
  // its gradient (the backward graph is mostly elementwise too)
  [
    'd/dx sum(gelu-like)',
    () =>
      ops.grad((t: ops.Tensor) =>
        ops.sum(
          ops.mul(ops.mul(t, 0.5), ops.add(1, ops.tanh(ops.mul(0.7978845608, ops.add(t, ops.mul(0.044715, ops.mul(t, ops.square(t)))))))),
        ),
      )(x),
  ],
  // broadcast bias + residual + relu (a layer epilogue), with a reduction at the end
  [
    'epilogue relu(x·y + bias) + x, summed',
    () =>
      ops.sum(
        ops.add(ops.relu(ops.add(ops.mul(x, y), ops.reshape(ops.broadcastTo(ops.reshape(bias, [1, 1000]), [n / 1000, 1000]), [n]))), x),
      ),
  ],
]

const rows: string[][] = [['graph', `n = ${n}`, 'kernels (unfused → fused)', 'ms unfused', 'ms fused', 'speedup']]
for (const [name, g] of graphs) {
  const out = g()
  const [cu, cf] = [await calls(out, false), await calls(out, true)]
  const tu = await timeIt(() => ops.run(out, { backend: be, fuse: false }), reps)
  const tf = await timeIt(() => ops.run(out, { backend: be, fuse: true }), reps)
  rows.push([name, be.mode, `${cu} → ${cf}`, fmtMs(tu), fmtMs(tf), `${(tu / tf).toFixed(2)}x`])
}
console.log(table(rows))
