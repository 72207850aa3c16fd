/** Test-set metrics of a trained two-task network: accuracy, per-class accuracy, confusion, NME on subsets. */
import { compile } from '../autodiff/compile.ts'
import type { Backend } from '../backend/backend.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { applyMultiTask, type MultiTaskConfig } from '../mtl/multitask.ts'
import { take } from '../data/batch.ts'
import { nme } from '../data/landmarks.ts'
import { type ExperimentData, unstandardise } from './data.ts'

/** NME means over the full test set and its common / challenging parts (`NaN` for an empty part). */
export interface NmeSubsets {
  readonly full: number
  readonly common: number
  readonly challenging: number
}

export interface Metrics {
  /** Expression accuracy and its per-class recall; confusion[true][predicted] counts. */
  readonly acc: number
  readonly perClass: readonly number[]
  readonly confusion: readonly (readonly number[])[]
  /** Landmark NME, inter-ocular (outer eye corners; the headline number) and inter-pupil (eye centres). */
  readonly nme: number
  readonly nmeIO: NmeSubsets
  readonly nmeIP: NmeSubsets
  /** Per test image, inter-ocular and inter-pupil NME (when recorded). */
  readonly perImage?: { readonly io: readonly number[]; readonly ip: readonly number[] }
}

const meanWhere = (xs: ArrayLike<number>, keep: (i: number) => boolean): number => {
  let s = 0
  let n = 0
  for (let i = 0; i < xs.length; i++)
    if (keep(i)) {
      s += xs[i]
      n++
    }
  return n ? s / n : Number.NaN
}

/** Per-image NME of standardised predictions against standardised targets (both flat [N·136]). */
export const landmarkError = (
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  data: ExperimentData,
  by: 'inter-ocular' | 'inter-pupil' = 'inter-ocular',
): { perImage: Float64Array; mean: number } => {
  const n = target.length / 136
  const r = nme(fromData(unstandardise(pred, data.norm), [n, 68, 2]), fromData(unstandardise(target, data.norm), [n, 68, 2]), by)
  return { perImage: r.perImage.data as Float64Array, mean: r.mean }
}

const subsets = (per: ArrayLike<number>, hard: Uint8Array | undefined): NmeSubsets => ({
  full: meanWhere(per, () => true),
  common: hard ? meanWhere(per, (i) => hard[i] === 0) : Number.NaN,
  challenging: hard ? meanWhere(per, (i) => hard[i] === 1) : Number.NaN,
})

/** Evaluates in eval mode (running batch-norm statistics) in chunks; the shorter task's indices wrap. */
export const evaluate = async (
  mc: MultiTaskConfig,
  params: any,
  state: any,
  data: ExperimentData,
  split: 'test' | 'val',
  backend: Backend<any>,
  opts: { perImage?: boolean; features?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Metrics & { features?: { expr: number[][]; lm: number[][] } }> => {
  const a = data.expr[split]
  const b = data.lm[split]
  const na = a.x.shape[0]
  const nb = b.x.shape[0]
  const n = Math.max(na, nb)
  const chunk = 128
  const k = data.classes
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0))
  const preds = new Float32Array(nb * 136)
  const feats = { expr: [] as number[][], lm: [] as number[][] }
  const keep = opts.features ?? 0
  // one plan per chunk size (the last chunk may be shorter), with and without the pooled features
  const forward = (features: boolean) =>
    compile(
      (a: { params: any; state: any; xa: HostTensor; xb: HostTensor }) => {
        const f = applyMultiTask(mc, a.params, [a.xa, a.xb], a.state, { training: false })
        return features ? [f.outs[0], f.outs[1], f.features[0], f.features[1]] : [f.outs[0], f.outs[1]]
      },
      { backend },
    )
  const outputs = forward(false)
  const withFeatures = forward(true)
  for (let s = 0; s < n; s += chunk) {
    const idx = Array.from({ length: Math.min(n, s + chunk) - s }, (_, i) => s + i)
    const xa = take(
      { x: a.x },
      idx.map((i) => i % na),
    ).x
    const xb = take(
      { x: b.x },
      idx.map((i) => i % nb),
    ).x
    const [logits, lm, fa, fb] = await (keep > 0 && s < keep ? withFeatures : outputs)({ params, state, xa, xb })
    idx.forEach((row, i) => {
      if (row < na) {
        let best = 0
        for (let j = 1; j < k; j++) if (logits.data[i * k + j] > logits.data[i * k + best]) best = j
        confusion[a.y.data[row]][best]++
      }
      if (row < nb) preds.set(lm.data.subarray(i * 136, (i + 1) * 136), row * 136)
    })
    if (fa && fb) {
      const w = fa.shape[1]
      idx.forEach((row, i) => {
        if (row < keep && row < na) feats.expr.push(Array.from(fa.data.subarray(i * w, (i + 1) * w)))
        if (row < keep && row < nb) feats.lm.push(Array.from(fb.data.subarray(i * w, (i + 1) * w)))
      })
    }
    opts.onProgress?.(Math.min(n, s + chunk), n)
  }
  const correct = confusion.reduce((s, r, i) => s + r[i], 0)
  const perClass = confusion.map((r, i) => {
    const t = r.reduce((x, y) => x + y, 0)
    return t ? r[i] / t : Number.NaN
  })
  const io = landmarkError(preds, b.y.data, data, 'inter-ocular')
  const ip = landmarkError(preds, b.y.data, data, 'inter-pupil')
  const hard = split === 'test' ? data.challengingTest : undefined
  return {
    acc: correct / na,
    perClass,
    confusion,
    nme: io.mean,
    nmeIO: subsets(io.perImage, hard),
    nmeIP: subsets(ip.perImage, hard),
    ...(opts.perImage ? { perImage: { io: Array.from(io.perImage), ip: Array.from(ip.perImage) } } : {}),
    ...(keep > 0 ? { features: feats } : {}),
  }
}
