/**
 * Trace-norm decrease ratio (TNDR, the paper's Fig. 3): per conv layer, the trace norm of the stacked task
 * weights after training over the same at initialisation. Below 1: the tasks' weights moved towards a
 * lower-rank (more shared) stack; the paper reports that early layers share more (lower TNDR).
 */
import { run } from '../autodiff/run.ts'
import type { Backend } from '../backend/backend.ts'
import type { SvdOptions } from '../linalg/index.ts'
import type { ResNetParams } from '../nn/resnet.ts'
import { layerTraceNorms, type TraceNormKind } from './multitask.ts'

/** Each conv layer's trace norm (γ = 1) of the T stacked task weights, as numbers: [layers]. */
export const measureLayerTraceNorms = async (
  tasks: readonly ResNetParams[],
  backend: Backend<any>,
  norm: TraceNormKind = 'laf',
  svd: SvdOptions = {},
): Promise<number[]> => (await run(layerTraceNorms(tasks, norm, svd), { backend })).map((t) => t.data[0])

/** TNDR per layer: end[l] / init[l] ([layers] × [layers] → [layers]); a layer with a zero initial norm gives NaN. */
export const tndr = (init: readonly number[], end: readonly number[]): number[] => {
  if (init.length !== end.length) throw new RangeError(`tndr: ${init.length} initial norms but ${end.length} final ones`)
  return init.map((v, l) => (v > 0 ? end[l] / v : Number.NaN))
}

/** TNDR of the whole stack: Σ end / Σ init (one number for a run). */
export const totalTndr = (init: readonly number[], end: readonly number[]): number => {
  tndr(init, end)
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)
  return sum(end) / sum(init)
}
