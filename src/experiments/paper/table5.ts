/** Table 5 (beyond the paper's handcrafted baselines): LBP histograms + a linear classifier against the ResNets. */
import type { RunKind } from '../config.ts'
import {
  claimsSection,
  figureLink,
  fmtSummary,
  mdTable,
  type PaperContext,
  presetLine,
  type Report,
  runner,
  seedList,
  summarise,
} from './common.ts'
import { lbpFeatures, logisticRegression } from './lbp.ts'
import { judge, paired } from './stats.ts'
import { barChart } from './svg.ts'

/** Table 5: LBP histograms + logistic regression against single / LAF / LAF+ADA ResNets on the same expression split. */
export const table5 = async (ctx: PaperContext): Promise<Report> => {
  const t0 = performance.now()
  const go = runner(ctx, 'table5')
  const runs: RunKind[] = ['single', 'laf', 'laf+ada']
  const acc: Record<string, number[]> = { 'LBP + logistic regression': [], ...Object.fromEntries(runs.map((r) => [r, []])) }
  for (const seed of seedList(ctx.seeds)) {
    const c = { ...ctx.preset.base, seed, runs }
    const d = go.data(c)
    const grid = Math.max(1, Math.min(4, Math.floor((c.size - 2) / 6)))
    const lbp = await logisticRegression(
      { x: lbpFeatures(d.expr.train.x, grid), y: d.expr.train.y },
      { x: lbpFeatures(d.expr.test.x, grid), y: d.expr.test.y },
      d.classes,
      ctx.backend,
      { steps: ctx.preset.lbpSteps },
    )
    acc['LBP + logistic regression'].push(lbp.acc)
    for (const r of (await go(c, { tag: `seed ${seed}` })).runs) acc[r.run].push(r.test.acc)
  }
  const labels = Object.keys(acc)
  const s = Object.fromEntries(labels.map((l) => [l, summarise(acc[l])]))
  const claims = [
    judge('ResNet (single task) > LBP + linear classifier', paired(acc.single, acc['LBP + logistic regression']), 'accuracy points'),
    judge('LAF+ADA ResNet > LBP + linear classifier', paired(acc['laf+ada'], acc['LBP + logistic regression']), 'accuracy points'),
  ]
  const md = [
    '# Table 5: handcrafted features against the ResNets (expression task)',
    '',
    presetLine(
      ctx,
      'LBP: uniform 8-neighbour patterns (59 bins) on a grid of cells, standardised, multinomial logistic regression (full-batch Adam, l2 1e-3).',
    ),
    '',
    mdTable(
      ['method', 'expression accuracy (%)'],
      labels.map((l) => [l, fmtSummary(s[l], 100, 1)]),
    ),
    '',
    ...claimsSection(claims),
    figureLink('accuracy', 'accuracy per method'),
    '',
  ].join('\n')
  return {
    name: 'table5',
    title: 'Table 5',
    markdown: md,
    results: { preset: ctx.preset.name, seeds: ctx.seeds, accuracy: acc, summary: s, claims },
    figures: {
      accuracy: barChart({
        title: 'Table 5: expression accuracy (95% CI)',
        labels,
        series: [{ name: 'accuracy %', values: labels.map((l) => 100 * s[l].mean), errors: labels.map((l) => 100 * s[l].half) }],
        yLabel: 'accuracy (%)',
      }),
    },
    seconds: (performance.now() - t0) / 1000,
  }
}
