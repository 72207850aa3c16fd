/** Table 6: landmarks with l1 vs l2 loss, NME inter-ocular and inter-pupil on common / challenging / full, CED curves. */
import { cumulativeErrors } from '../../data/landmarks.ts'
import {
  claimsSection,
  figureLink,
  fmtSummary,
  mdTable,
  mean,
  type PaperContext,
  presetLine,
  type Report,
  seedList,
  summarise,
} from './common.ts'
import { makeExperimentData } from '../data.ts'
import { missingSection, type PlanContext, type PlannedExperiment, type RunLookup, type RunRequest, runPlanned } from './plan.ts'
import { judge, paired } from './stats.ts'
import { lineChart } from './svg.ts'

const occlusion = 0.1
const losses = ['l1', 'l2'] as const

/** Per seed and landmark loss, single-task and LAF+ADA, each keeping the per-image NME of the test faces. */
const table6Runs = (ctx: PlanContext): RunRequest[] =>
  seedList(ctx.seeds).flatMap((seed) =>
    losses.flatMap((loss) =>
      (['single', 'laf+ada'] as const).map((kind) => ({
        config: { ...ctx.preset.base, seed, occlusion, landmarkLoss: loss, runs: [kind] },
        record: { perImage: true },
        tag: `seed ${seed} ${loss}`,
      })),
    ),
  )

/** Table 6: landmark detection with l1 vs l2 loss, single-task vs LAF+ADA, NME inter-ocular and inter-pupil on three subsets. */
const table6Report = (ctx: PlanContext, have: RunLookup, seconds: number, why?: (r: RunRequest) => string): Report => {
  type Cell = {
    seed: number
    io: { full: number; common: number; challenging: number }
    ip: { full: number; common: number; challenging: number }
  }
  const planned = table6Runs(ctx)
  const missing = planned.filter((r) => !have(r))
  const cells: Record<string, Cell[]> = {}
  const perImage: Record<string, number[]> = {}
  for (const req of planned) {
    const run = have(req)
    if (!run) continue
    const label = `${run.run} (${req.config.landmarkLoss})`
    cells[label] ??= []
    cells[label].push({ seed: run.seed, io: run.test.nmeIO, ip: run.test.nmeIP })
    perImage[label] = [...(perImage[label] ?? []), ...(run.test.perImage?.io ?? [])]
  }
  // the share of challenging test faces is a property of the data (that of the last seed's l2 runs), not of a run
  const last = planned[planned.length - 1].config
  const challengingShare = mean(Array.from((ctx.data ?? makeExperimentData)(last).challengingTest))
  const labels = Object.keys(cells)
  type By = 'io' | 'ip'
  type Sub = 'full' | 'common' | 'challenging'
  const col = (l: string, by: By, sub: Sub) => (cells[l] ?? []).map((c) => c[by][sub])
  // paired over the seeds both runs finished (all seeds when none is missing)
  const pair = (a: string, b: string, by: By, sub: Sub) => {
    const seeds = (cells[a] ?? []).map((c) => c.seed).filter((s) => cells[b]?.some((c) => c.seed === s))
    const at = (l: string) => seeds.map((s) => (cells[l].find((c) => c.seed === s) as Cell)[by][sub])
    return paired(at(a), at(b))
  }
  const summary = Object.fromEntries(
    labels.map((l) => [
      l,
      Object.fromEntries(
        (['io', 'ip'] as const).flatMap((by) =>
          (['common', 'challenging', 'full'] as const).map((sub) => [`${by}.${sub}`, summarise(col(l, by, sub))]),
        ),
      ),
    ]),
  )
  const claims = [
    judge('l1 < l2 loss (single task): NME inter-ocular, full set', pair('single (l2)', 'single (l1)', 'io', 'full'), 'NME points'),
    judge('l1 < l2 loss (LAF+ADA): NME inter-ocular, full set', pair('laf+ada (l2)', 'laf+ada (l1)', 'io', 'full'), 'NME points'),
    judge('LAF+ADA < single task (l1): NME inter-ocular, full set', pair('single (l1)', 'laf+ada (l1)', 'io', 'full'), 'NME points'),
    judge(
      'LAF+ADA < single task (l1): NME inter-ocular, challenging set',
      pair('single (l1)', 'laf+ada (l1)', 'io', 'challenging'),
      'NME points',
    ),
  ]
  const thresholds = Array.from({ length: 31 }, (_, i) => i * 0.005)
  const md = [
    '# Table 6: facial landmark detection',
    '',
    presetLine(
      ctx,
      `Landmark faces carry an occluder with probability ${occlusion}; "challenging" = the strong pose / lighting / occlusion tail defined in the generator (${(100 * challengingShare).toFixed(0)}% of the test faces), "common" = the rest.`,
    ),
    '',
    mdTable(
      ['run (loss)', 'IO common', 'IO challenging', 'IO full', 'IP common', 'IP challenging', 'IP full'],
      labels.map((l) => [
        l,
        ...['io.common', 'io.challenging', 'io.full', 'ip.common', 'ip.challenging', 'ip.full'].map((k) =>
          fmtSummary(summary[l][k], 100, 2),
        ),
      ]),
    ),
    '',
    'NME in % of the inter-ocular (IO: outer eye corners) or inter-pupil (IP: eye centres) distance.',
    '',
    ...claimsSection(claims),
    figureLink('ced', 'cumulative error distribution'),
    '',
    ...missingSection(missing, why),
  ].join('\n')
  return {
    name: 'table6',
    title: 'Table 6',
    markdown: md,
    results: {
      preset: ctx.preset.name,
      seeds: ctx.seeds,
      occlusion,
      challengingShare,
      runs: cells,
      summary,
      claims,
      ced: { thresholds, curves: Object.fromEntries(labels.map((l) => [l, cumulativeErrors(perImage[l], thresholds)])) },
      ...(missing.length > 0 ? { missing: missing.map((r) => ({ tag: r.tag, run: r.config.runs[0], seed: r.config.seed })) } : {}),
    },
    figures: {
      ced: lineChart({
        title: 'Cumulative error distribution (test, all seeds)',
        xLabel: 'NME (inter-ocular)',
        yLabel: 'fraction of images',
        yRange: [0, 1],
        series: labels.map((l) => ({ name: l, xs: thresholds, ys: cumulativeErrors(perImage[l], thresholds) })),
      }),
    },
    seconds,
  }
}

/** Table 6 as its two halves (see plan.ts). */
export const table6Plan: PlannedExperiment = { name: 'table6', runs: table6Runs, report: table6Report }

export const table6 = (ctx: PaperContext): Promise<Report> => runPlanned(table6Plan, ctx)
