/**
 * cpuBackend built inside each test, for each `wasm` option: its name, and every kernel family it wires up (JS or WASM
 * GEMM, conv and its gradients, pooling, the WASM sum and gram, broadcast tiling, elementwise chains) against ref;
 * replacement kernels; resident results read, fed back and donated.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CpuBackendOptions } from '../../src/backend/cpu/index.ts'
import { wasmAvailable } from '../../src/backend/cpu/wasm/runtime.ts'
import * as s from '../../src/index.ts'

const ref = s.refBackend()
const normal = (seed: number, shape: number[]) => s.normal(s.key(seed), shape)

/** Every output of `program` on `be` equals ref's to float32 accuracy (relative to each output's largest value). */
const agree = (be: s.Backend<any>, outs: Record<string, s.Tensor>) => {
  const got = s.runSync(outs, { backend: be }) as Record<string, s.HostTensor>
  const want = s.runSync(outs, { backend: ref }) as Record<string, s.HostTensor>
  for (const k of Object.keys(outs)) {
    assert.deepEqual(got[k].shape, want[k].shape, `${be.name} ${k} shape`)
    const scale = Math.max(1, ...Array.from(want[k].data, Math.abs))
    for (let i = 0; i < want[k].data.length; i++)
      assert.ok(
        Math.abs(got[k].data[i] - want[k].data[i]) <= 2e-5 * scale,
        `${be.name} ${k}[${i}]: ${got[k].data[i]} vs ${want[k].data[i]}`,
      )
  }
}

/** One graph per kernel family the backend assembles (sizes chosen to reach the WASM sum, gram and pooling paths). */
const program = (): Record<string, s.Tensor> => {
  const a = normal(1, [5, 7])
  const b = normal(2, [7, 40])
  const x = normal(3, [2, 6, 5, 3])
  const w = normal(4, [3, 3, 3, 4])
  const conv = (p: { x: s.Tensor; w: s.Tensor }) =>
    s.sum(s.mul(s.conv2d(p.x, p.w, { strides: [2, 1], padding: 'same' }), normal(5, [2, 3, 5, 4])))
  const { x: dx, w: dw } = s.grad(conv)({ x, w })
  const pool = (p: s.Tensor) => s.sum(s.mul(s.maxPool(p, { size: [2, 2], strides: 2, padding: 'same' }), normal(6, [2, 3, 3, 3])))
  const cols = Array.from({ length: 8 }, (_, i) => normal(10 + i, [4096, 1]))
  return {
    mmNarrow: s.matmul(a, s.slice(b, [0, 0], [7, 3])),
    mmWide: s.matmul(a, b),
    mmT: s.bind(s.matmulPrim, [s.transpose(a, [1, 0]), s.transpose(b, [1, 0])], { transA: true, transB: true }),
    conv: s.conv2d(x, w, { strides: [2, 1], padding: 'same' }),
    dx,
    dw,
    maxPool: s.maxPool(x, { size: [2, 2], strides: 2, padding: 'same' }),
    maxPoolGrad: s.grad(pool)(x),
    avgPool: s.avgPool(x, { size: [3, 2], strides: [1, 2], padding: 'valid' }),
    longSum: s.sum(normal(7, [2, 16384]), 1),
    rowMax: s.max(normal(8, [6, 9]), 1),
    tiled: s.add(s.broadcastTo(normal(9, [3]), [4, 5, 3]), 0),
    chain: s.tanh(s.add(s.mul(normal(20, [64, 80]), 2), s.relu(normal(21, [80])))),
    gram: s.gram(cols),
    gramSmall: s.gram(cols.slice(0, 2)),
  }
}

test('cpuBackend: the wasm option picks the kernels (auto and default: WASM where the host has it; false: plain JS), each matching ref', () => {
  const withWasm = wasmAvailable() ? 'cpu' : 'cpu-js'
  const options: [CpuBackendOptions | undefined, string][] = [
    [undefined, withWasm],
    [{}, withWasm],
    [{ wasm: 'auto' }, withWasm],
    [{ wasm: false }, 'cpu-js'],
    ...(wasmAvailable() ? ([[{ wasm: true }, 'cpu']] as [CpuBackendOptions, string][]) : []),
  ]
  const outs = program()
  for (const [opts, name] of options) {
    const be = s.cpuBackend(opts)
    assert.equal(be.name, name, JSON.stringify(opts))
    agree(be, outs)
  }
  if (!wasmAvailable())
    assert.throws(() => s.cpuBackend({ wasm: true }), /cpuBackend: wasm: true, but this host has no shared WebAssembly memory/)
})

test('cpuBackend: `kernels` replaces a built-in kernel by op name, on both variants', () => {
  for (const wasm of [false, 'auto'] as const) {
    const be = s.cpuBackend({
      wasm,
      kernels: { matmul: (_ins, call) => new Float32Array(call.outShape.reduce((p, d) => p * d, 1)).fill(7) },
    })
    const y = s.runSync(s.add(s.matmul(normal(1, [2, 3]), normal(2, [3, 4])), 1), { backend: be })
    assert.deepEqual(Array.from(y.data), new Array(8).fill(8))
  }
})

test('cpuBackend: a large result read back feeds the next run unchanged, and a donated one refuses its data (each option)', () => {
  for (const wasm of [false, 'auto'] as const) {
    const be = s.cpuBackend({ wasm })
    const x = normal(30, [64, 80])
    const y = s.runSync(s.mul(x, 3), { backend: be })
    const z = s.runSync(s.sub(y, x), { backend: be })
    const want = s.runSync(s.mul(x, 2), { backend: ref })
    for (let i = 0; i < want.data.length; i += 97) assert.ok(Math.abs(z.data[i] - want.data[i]) <= 1e-5 * (1 + Math.abs(want.data[i])))
    const v = s.runSync(s.add(x, 1), { backend: be })
    be.donate?.(v)
    if (be.name === 'cpu')
      assert.throws(
        () => v.data,
        /cpu backend: this \[64,80\] tensor was donated \(an argument donated to a compiled call, or a training state a later step replaced\); its data is gone/,
      )
    else assert.equal(v.data[0], Math.fround(x.data[0] + 1), 'without WASM a result is plain memory: donate leaves it alone')
  }
})

test('cpuBackend: residentBytes caps the untouched results kept in WASM memory (older ones are copied out, values intact); a bad value is named', () => {
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(
      () => s.cpuBackend({ residentBytes: bad }),
      new RegExp(`cpuBackend: residentBytes must be a positive number of bytes, got ${bad}`),
    )
  // a cap of one 64 × 80 float32 result: every newer result pushes the older one out of WASM memory
  const be = s.cpuBackend({ residentBytes: 64 * 80 * 4 })
  const x = normal(31, [64, 80])
  const ys = [1, 2, 3].map((k) => s.runSync(s.mul(x, k), { backend: be }))
  const z = s.runSync(s.add(ys[0], ys[1]), { backend: be })
  for (let i = 0; i < x.data.length; i += 89) {
    for (const [k, y] of ys.entries()) assert.equal(y.data[i], Math.fround(x.data[i] * (k + 1)))
    assert.equal(z.data[i], Math.fround(Math.fround(x.data[i]) + Math.fround(x.data[i] * 2)))
  }
})
