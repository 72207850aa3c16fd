/** The primitive table (every op with a VJP and backend kernels) and the public op functions. */
import type { Primitive } from '../graph/graph.ts'
import { conv2dBackFilterPrim, conv2dBackInputPrim, conv2dPrim } from './conv.ts'
import { avgPoolBackPrim, avgPoolPrim, maxPoolBackPrim, maxPoolPrim, maxPoolSelectPrim } from './pool.ts'
import { binaryPrims, unaryPrims, wherePrim } from './elementwise.ts'
import { eighPrim, gramPrim, qrPrim } from './linalg.ts'
import { oneHotPrim, softmaxCrossEntropyPrim } from './loss.ts'
import { matmulPrim } from './matmul.ts'
import { maxPrim, sumPrim } from './reduce.ts'
import { broadcastToPrim, concatPrim, padPrim, reshapePrim, slicePrim, transposePrim } from './shape.ts'

/** Every primitive, by name. Tests enumerate this table: each entry must have a gradient and a parity property. */
export const primitives: Readonly<Record<string, Primitive>> = Object.fromEntries(
  [
    ...Object.values(unaryPrims),
    ...Object.values(binaryPrims),
    wherePrim,
    sumPrim,
    maxPrim,
    reshapePrim,
    transposePrim,
    slicePrim,
    padPrim,
    concatPrim,
    broadcastToPrim,
    matmulPrim,
    qrPrim,
    eighPrim,
    gramPrim,
    conv2dPrim,
    conv2dBackInputPrim,
    conv2dBackFilterPrim,
    maxPoolPrim,
    maxPoolBackPrim,
    maxPoolSelectPrim,
    avgPoolPrim,
    avgPoolBackPrim,
    oneHotPrim,
    softmaxCrossEntropyPrim,
  ].map((p) => [p.name, p]),
)

export * from './conv.ts'
export * from './elementwise.ts'
export * from './linalg.ts'
export * from './loss.ts'
export * from './matmul.ts'
export * from './nn-math.ts'
export * from './pool.ts'
export * from './reduce.ts'
export * from './shape.ts'
