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
  runner,
  seedList,
  summarise,
} from './common.ts'
import { judge, paired } from './stats.ts'
import { lineChart } from './svg.ts'

/** Table 6: landmark detection with l1 vs l2 loss, single-task vs LAF+ADA, NME inter-ocular and inter-pupil on three subsets. */
export const table6 = async (ctx: PaperContext): Promise<Report> => {
  const t0 = performance.now()
  const go = runner(ctx, 'table6')
  const occlusion = 0.1
  type Cell = {
    seed: number
    io: { full: number; common: number; challenging: number }
    ip: { full: number; common: number; challenging: number }
  }
  const cells: Record<string, Cell[]> = {}
  const perImage: Record<string, number[]> = {}
  let challengingShare = 0
  for (const seed of seedList(ctx.seeds))
    for (const loss of ['l1', 'l2'] as const) {
      const r = await go(
        { ...ctx.preset.base, seed, occlusion, landmarkLoss: loss, runs: ['single', 'laf+ada'] },
        { record: { perImage: true }, tag: `seed ${seed} ${loss}` },
      )
      challengingShare = mean(Array.from(go.data({ ...ctx.preset.base, seed, occlusion, landmarkLoss: loss }).challengingTest))
      for (const run of r.runs) {
        const label = `${run.run} (${loss})`
        cells[label] ??= []
        cells[label].push({ seed, io: run.test.nmeIO, ip: run.test.nmeIP })
        perImage[label] = [...(perImage[label] ?? []), ...(run.test.perImage?.io ?? [])]
      }
    }
  const labels = Object.keys(cells)
  const col = (l: string, by: 'io' | 'ip', sub: 'full' | 'common' | 'challenging') => cells[l].map((c) => c[by][sub])
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
    judge(
      'l1 < l2 loss (single task): NME inter-ocular, full set',
      paired(col('single (l2)', 'io', 'full'), col('single (l1)', 'io', 'full')),
      'NME points',
    ),
    judge(
      'l1 < l2 loss (LAF+ADA): NME inter-ocular, full set',
      paired(col('laf+ada (l2)', 'io', 'full'), col('laf+ada (l1)', 'io', 'full')),
      'NME points',
    ),
    judge(
      'LAF+ADA < single task (l1): NME inter-ocular, full set',
      paired(col('single (l1)', 'io', 'full'), col('laf+ada (l1)', 'io', 'full')),
      'NME points',
    ),
    judge(
      'LAF+ADA < single task (l1): NME inter-ocular, challenging set',
      paired(col('single (l1)', 'io', 'challenging'), col('laf+ada (l1)', 'io', 'challenging')),
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
    seconds: (performance.now() - t0) / 1000,
  }
}
