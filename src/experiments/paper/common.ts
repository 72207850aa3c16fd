/** What every paper experiment shares: presets, the run context, the report value, and markdown helpers. */
import type { Backend } from '../../backend/backend.ts'
import type { ResNetConfig } from '../../nn/resnet.ts'
import type { HostTensor } from '../../tensor/host.ts'
import type { ResNetParams } from '../../nn/resnet.ts'
import { defaultExperiment, type ExperimentConfig } from '../config.ts'
import { dataKey, type ExperimentData, makeExperimentData } from '../data.ts'
import { type ExperimentResult, type Progress, type RecordOptions, runExperiment } from '../run.ts'
import { type Claim, claimTable, fmtSummary, type Summary, summarise } from './stats.ts'

export const experimentNames = ['table4', 'table5', 'table6', 'table7', 'fig3'] as const
/** The order of `all`: the short experiments first, so their reports exist early. */
export const allOrder = ['table4', 'fig3', 'table5', 'table6', 'table7'] as const
export type ExperimentName = (typeof experimentNames)[number]
export const presetNames = ['smoke', 'default', 'paper'] as const
export type PaperPresetName = (typeof presetNames)[number]

/** Sizes of one preset: the base config of every run plus each experiment's own knobs. */
export interface PaperPreset {
  readonly name: PaperPresetName
  readonly base: ExperimentConfig
  readonly seeds: number
  /** γ grid of the per-norm validation sweep (Table 4). */
  readonly gammas: readonly number[]
  /** domainShift values of `table4 --sweep domain-shift`. */
  readonly shifts: readonly number[]
  /** k of the k-fold cross-validation on the strong expression set (Table 7) and that set's size (train + test pool). */
  readonly folds: number
  readonly strongPool: number
  /** Pooled test features kept per task for Fig. 3c. */
  readonly featurePoints: number
  /** Full-batch steps of the LBP logistic regression (Table 5). */
  readonly lbpSteps: number
}

export const paperPresets: Readonly<Record<PaperPresetName, PaperPreset>> = {
  /** Seconds per experiment: the test suite runs every experiment at this size (numbers are meaningless). */
  smoke: {
    name: 'smoke',
    base: { ...defaultExperiment, train: 32, val: 16, test: 32, size: 16, width: 2, epochs: 1, batch: 16, svdRank: 4 },
    seeds: 2,
    gammas: [1e-2, 3e-2],
    shifts: [0, 1],
    folds: 2,
    strongPool: 64,
    featurePoints: 16,
    lbpSteps: 10,
  },
  /**
   * Minutes per experiment on 2 CPU cores: 2048 training faces per task at 32×32, 6 epochs, 3 seeds, where the
   * expression network learns (about 50% over 13 classes, chance 7.7%). 2500 test faces per task keep an
   * accuracy's standard error at or below 1 point (√(p(1 − p)/n) ≤ 0.5/50); the transfer set pools 2560 faces
   * over its folds for the same reason. svdRank 64 keeps every Tucker/TT unfolding of this network (shorter sides
   * ≤ 64) on the exact route: the paper's untruncated norms, and cheaper here than five Householder QRs per sketch.
   */
  default: {
    name: 'default',
    base: { ...defaultExperiment, train: 2048, val: 512, test: 2500, size: 32, width: 8, epochs: 6, batch: 32, svdRank: 64 },
    seeds: 3,
    gammas: [1e-2, 5e-2],
    shifts: [0, 1, 2],
    folds: 2,
    strongPool: 2560,
    featurePoints: 300,
    lbpSteps: 150,
  },
  /** The paper's setting: ResNet-34 on 96×96 faces, batch 256, Adam 1e-3, 30 epochs (for a GPU or a grid: backend 'auto'). */
  paper: {
    name: 'paper',
    base: {
      ...defaultExperiment,
      backend: 'auto',
      train: 8192,
      val: 1024,
      test: 2560,
      size: 96,
      arch: 'resnet34',
      width: 64,
      epochs: 30,
      batch: 256,
      lr: 1e-3,
      svdRank: 16,
    },
    seeds: 3,
    gammas: [1e-3, 3e-3, 1e-2, 3e-2],
    shifts: [0, 0.5, 1, 1.5, 2],
    folds: 10,
    strongPool: 2560,
    featurePoints: 500,
    lbpSteps: 300,
  },
}

/** Everything an experiment needs from its caller (no files: the log and progress are sinks). */
export interface PaperContext {
  readonly preset: PaperPreset
  readonly seeds: number
  readonly backend: Backend<any>
  /** One record per epoch of every run, tagged with the experiment and the run. */
  readonly log?: (record: Readonly<Record<string, unknown>>) => void
  readonly onProgress?: (p: Progress, label: string) => void
  /** Progress of data generation and evaluation (see `RunOptions.onPhase`). */
  readonly onPhase?: (what: string, done: number, total: number) => void
  readonly sweep?: 'domain-shift'
  /** Data sets shared between experiments of one process (most recent first, at most 3 kept); omit to share none. */
  readonly dataCache?: ExperimentData[]
}

/** A written report: markdown, every number per seed as JSON, and SVG figures by file stem. */
export interface Report {
  readonly name: ExperimentName
  readonly title: string
  readonly markdown: string
  readonly results: Readonly<Record<string, unknown>>
  readonly figures: Readonly<Record<string, string>>
  readonly seconds: number
}

/** Runs one config through `runExperiment` with the context's backend and sinks; data is shared by key. */
export const runner = (ctx: PaperContext, label: string) => {
  const dataOf = (config: ExperimentConfig): ExperimentData => {
    const cache = ctx.dataCache
    const k = dataKey(config)
    const hit = cache?.find((d) => d.from === k)
    if (hit) return hit
    const d = makeExperimentData(config, ctx.onPhase && ((done, total) => ctx.onPhase?.('generating faces', done, total)))
    if (cache) {
      cache.unshift(d)
      cache.splice(3)
    }
    return d
  }
  const go = async (
    c: ExperimentConfig,
    opts: { record?: RecordOptions; pretrained?: readonly (ResNetParams<HostTensor> | undefined)[]; tag?: string } = {},
  ): Promise<ExperimentResult> => {
    const config = { ...c, backend: ctx.preset.base.backend }
    const data = dataOf(config)
    const tag = opts.tag ?? ''
    return runExperiment(config, {
      backend: ctx.backend,
      data,
      ...(opts.record ? { record: opts.record } : {}),
      ...(opts.pretrained ? { pretrained: opts.pretrained } : {}),
      ...(ctx.log ? { log: (r: Readonly<Record<string, unknown>>) => ctx.log?.({ experiment: label, tag, ...r }) } : {}),
      ...(ctx.onProgress ? { onProgress: (p: Progress) => ctx.onProgress?.(p, tag ? `${label} ${tag}` : label) } : {}),
      ...(ctx.onPhase ? { onPhase: ctx.onPhase } : {}),
    })
  }
  /** The data a config trains on (the same value the runs get). */
  return Object.assign(go, { data: (c: ExperimentConfig) => dataOf({ ...c, backend: ctx.preset.base.backend }) })
}

/** Seeds 0..n−1. */
export const seedList = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** Conv+BN units up to the end of the stem and of every stage but the last (the hard-sharing boundaries). */
export const blockBoundaries = (c: ResNetConfig): number[] => {
  const out = [1]
  let n = 1
  let cin = c.stem.width
  c.widths.slice(0, -1).forEach((w, si) => {
    for (let bi = 0; bi < c.blocks[si]; bi++) {
      n += 2 + ((si > 0 && bi === 0) || cin !== w ? 1 : 0)
      cin = w
    }
    out.push(n)
  })
  return out
}

/** A markdown table (first column left-aligned, the rest right-aligned). */
export const mdTable = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? ':--' : '--:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')

/** `![alt](stem.svg)` with a link to the PNG. */
export const figureLink = (stem: string, alt: string): string => `![${alt}](${stem}.svg) ([PNG](${stem}.png))`

/** Summaries of a per-seed metric map. */
export const summariseAll = (m: Readonly<Record<string, readonly number[]>>): Record<string, Summary> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, summarise(v)]))

export { fmtSummary, summarise }

/** The preset line at the top of each report. */
export const presetLine = (ctx: Pick<PaperContext, 'preset' | 'seeds'>, extra = ''): string => {
  const b = ctx.preset.base
  return (
    `Preset \`${ctx.preset.name}\`: ${ctx.seeds} seed(s); per task ${b.train} training, ${b.val} validation and ${b.test} test faces at ` +
    `${b.size}×${b.size}; ${b.arch} ResNet${b.arch === 'small' ? ` (width ${b.width})` : ''}; ${b.epochs} epochs, batch ${b.batch}, ` +
    `Adam lr ${b.lr} (cosine); ADA weight ${b.adaWeight}; backend ${b.backend}.${extra ? ` ${extra}` : ''} ` +
    'Every number is a mean over seeds ± the 95% t-interval half-width (n = number of seeds); claims are judged on per-seed paired differences.'
  )
}

/** Mean of xs (NaN-free inputs; 0 for none). */
export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)

/** The claims section of a report. */
export const claimsSection = (cs: readonly Claim[]): string[] => ['## Claims', '', claimTable(cs), '']
