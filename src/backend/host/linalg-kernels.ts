/** The `qr` and `eigh` kernels of the host backends, over the float64 factorizations in tensor/dense.ts. */
import { eighPackedHost, qrHouseholder } from '../../tensor/dense.ts'
import type { HostKernel } from '../backend.ts'
import type { ArrayCtor } from './backend.ts'

type D = Float32Array | Float64Array

/**
 * Kernels of the linalg primitives for a host backend. `floor` is the relative singular value below which
 * the Gram route of that precision cannot tell σ from 0 (eigh reports λ ≤ floor²·λ₁ as 0).
 */
export const linalgKernels = <A extends D>(Ctor: ArrayCtor<A>, floor: number): Record<string, HostKernel<A>> => ({
  qr: ([x], call) => {
    const [m, n] = call.inShapes[0]
    return Ctor.from(qrHouseholder(x, m, n).q)
  },
  eigh: ([x], call) => Ctor.from(eighPackedHost(x, call.inShapes[0][0], floor)),
})
