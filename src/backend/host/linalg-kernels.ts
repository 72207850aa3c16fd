/** The `qr`, `eigh` and `gram` kernels of the host backends, over the float64 factorizations in tensor/dense.ts. */
import { eighPackedHost, gramHost, qrHouseholder } from '../../tensor/dense.ts'
import type { HostKernel } from '../backend.ts'
import type { ArrayCtor } from './backend.ts'

type D = Float32Array | Float64Array

/** Relative singular-value floors of one backend precision (see `linalgKernels`). */
export interface PrecisionFloors {
  /** A Gram matrix computed by the backend's own `matmul` (float32 accumulation on cpu and gpu). */
  readonly matmul: number
  /** A Gram matrix from the float64-accumulating `gram` kernel, handed to eigh as hi + lo. */
  readonly gram: number
}

/**
 * Floors of float32 backends. matmul (one float32 matrix: the randomized route's l × l core): a float32-accumulated
 * Gram resolves λ to ~1e-6·λ₁, so σ to 1e-3·σ₁. gram: the float64 Gram kept as hi + lo resolves λ to ~1e-14·λ₁,
 * but the input, U and λ come back rounded to float32, so a kept σᵢ costs U Vᵀ a relative error of about
 * 3e-8·σ₁/σᵢ for two columns (measured 5e-4 at σ₂/σ₁ = 1e-4, 3e-3 at 1e-5; test/linalg/edges.test.ts) and about
 * 6e-9·σ₁/σ_min over k = 256 or 1024 columns (5.2e-4 at σ_min/σ₁ = 1.25e-5 for k = 256, 1.5e-4 at 1e-4 and 2.3e-5
 * at 1e-3 for k = 1024; test/linalg/exact-route.test.ts): the floor is 1e-5 at every k. The gpu backend runs this
 * kernel on the host only for more than 3 inputs (its double-float device Grams: src/backend/gpu/wgsl/gram.ts, syrk.ts).
 */
export const float32Floors: PrecisionFloors = { matmul: 1e-3, gram: 1e-5 }
/**
 * Floors of the float64 ref backend: 1e-6 for both. Its float64 Gram resolves σ₂/σ₁ well below that (U Vᵀ errs by
 * about 4e-16·(σ₁/σᵢ)²: measured 4e-6 at 1e-5, 4e-4 at 1e-6), but the floor must also stay above the 1e-6 steps of
 * the finite-difference checks, or a step off a rank-deficient matrix creates singular values that count.
 */
export const float64Floors: PrecisionFloors = { matmul: 1e-6, gram: 1e-6 }

/**
 * Kernels of the linalg primitives for a host backend of element type `Ctor`. `floors` are the relative singular
 * values below which the Gram route of that precision cannot tell σ from 0 (eigh reports λ ≤ floor²·λ₁ as 0);
 * they were set from measured errors (test/linalg/edges.test.ts). A number sets the matmul floor only.
 */
export const linalgKernels = <A extends D>(
  Ctor: ArrayCtor<A>,
  floorsOrMatmul?: number | PrecisionFloors,
): Record<string, HostKernel<A>> => {
  const f32 = (Ctor as unknown) === Float32Array
  const base = f32 ? float32Floors : float64Floors
  const floors = typeof floorsOrMatmul === 'number' ? { ...base, matmul: floorsOrMatmul } : (floorsOrMatmul ?? base)
  return {
    qr: ([x], call) => {
      const [m, n] = call.inShapes[0]
      return Ctor.from(qrHouseholder(x, m, n).q)
    },
    eigh: ([x, lo], call) => {
      const k = call.inShapes[0][0]
      if (!lo) return Ctor.from(eighPackedHost(x, k, floors.matmul))
      const a = Float64Array.from(x, (v, i) => v + lo[i])
      return Ctor.from(eighPackedHost(a, k, floors.gram))
    },
    gram: (xs, call) => {
      const [d, c] = call.inShapes[0]
      return Ctor.from(gramHost(xs, d, c, f32 ? Math.fround : (v) => v, f32 ? 127 : 1023))
    },
  }
}
