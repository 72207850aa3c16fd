import type { Backend } from '../backend.ts'
import { hostBackend } from '../host/backend.ts'
import { linalgKernels } from '../host/linalg-kernels.ts'
import { refKernels } from './kernels.ts'

/** The float64 reference backend: naive loops, the oracle for tests and gradient checks. */
export const refBackend = (): Backend<Float64Array> =>
  hostBackend('ref', Float64Array, { ...refKernels(Float64Array), ...linalgKernels(Float64Array, 1e-6) })
