/**
 * The relaxed-SIMD build against the float64 references and the baseline build: matmul and conv forward,
 * input and filter gradients (odd sizes, strides). Run in-process where the host has relaxed SIMD, else by
 * wasm.test.ts in a child Node with --experimental-wasm-relaxed-simd. Prints the largest difference to the baseline.
 */
import assert from 'node:assert/strict'
import { conv2dBackFilterWasm, conv2dBackInputWasm, conv2dWasm, matmulWasm } from '../../src/backend/cpu/wasm/kernels.ts'
import { createWasmRuntime } from '../../src/backend/cpu/wasm/runtime.ts'
import { convDwRef, convDxRef, convRef, matmulRef } from './wasm-ref.ts'

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5)

/** Checks the relaxed build; returns the largest |relaxed − baseline| seen. */
export const checkRelaxed = (): number => {
  const rel = createWasmRuntime(1, { relaxed: true })
  const base = createWasmRuntime(1, { relaxed: false })
  assert.ok(rel.relaxed && !base.relaxed)
  let worst = 0
  const close = (got: Float32Array, want: Float64Array | Float32Array, ref: Float32Array, k: number, what: string) => {
    let e = 0
    let s = 0
    for (let i = 0; i < want.length; i++) {
      e = Math.max(e, Math.abs(got[i] - want[i]))
      s = Math.max(s, Math.abs(want[i]))
      worst = Math.max(worst, Math.abs(got[i] - ref[i]))
    }
    assert.ok(e <= 1e-5 * (1 + s) * Math.sqrt(k), `${what}: max error ${e} (scale ${s})`)
  }
  for (const [m, n, k] of [
    [37, 29, 300],
    [130, 70, 513],
  ]) {
    const a = rand(m * k, 1)
    const b = rand(k * n, 2)
    close(
      matmulWasm(a, b, [m, k], false, false, [m, n], rel),
      matmulRef(a, b, 1, m, n, k, false, false),
      matmulWasm(a, b, [m, k], false, false, [m, n], base),
      k,
      `matmul ${m}×${n}×${k}`,
    )
  }
  for (const s of [1, 2]) {
    const N = 2
    const H = 9
    const C = 12
    const co = 20
    const OH = Math.ceil(H / s)
    const t = Math.max((OH - 1) * s + 3 - H, 0)
    const g = { x: [N, H, H, C], w: [3, 3, C, co], y: [N, OH, OH, co], strides: [s, s], pads: [t >> 1, t - (t >> 1), t >> 1, t - (t >> 1)] }
    const x = rand(N * H * H * C, 3)
    const w = rand(9 * C * co, 4)
    const dy = rand(N * OH * OH * co, 5)
    close(conv2dWasm(x, w, g, rel), convRef(x, w, g), conv2dWasm(x, w, g, base), 9 * C, `conv fwd stride ${s}`)
    close(conv2dBackInputWasm(dy, w, g, rel), convDxRef(dy, w, g), conv2dBackInputWasm(dy, w, g, base), 9 * co, `conv dx stride ${s}`)
    close(
      conv2dBackFilterWasm(x, dy, g, rel),
      convDwRef(x, dy, g),
      conv2dBackFilterWasm(x, dy, g, base),
      N * OH * OH,
      `conv dw stride ${s}`,
    )
  }
  return worst
}

if (process.argv[1]?.endsWith('wasm-relaxed-check.ts')) {
  console.log(`relaxed ok, max |relaxed − baseline| ${checkRelaxed()}`)
  process.exit(0)
}
