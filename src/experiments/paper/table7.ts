/** Table 7: transfer from subtle to strong expressions with k-fold cross-validation, fine-tuned vs from scratch. */
import { basicExpressionNames } from '../../data/face-model.ts'
import type { RunKind } from '../config.ts'
import type { RunResult } from '../run.ts'
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
import { barChart, heatmap } from './svg.ts'

/** Table 7: pretrain on subtle expressions, fine-tune on the strong 7-class set (k folds) vs from scratch, with and without LAF+ADA. */
export const table7 = async (ctx: PaperContext): Promise<Report> => {
  const t0 = performance.now()
  const go = runner(ctx, 'table7')
  const k = ctx.preset.folds
  const pool = ctx.preset.strongPool
  const test = Math.floor(pool / k)
  const variants = ['scratch single', 'fine-tuned single', 'scratch laf+ada', 'fine-tuned laf+ada'] as const
  const acc: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v, []]))
  const foldAcc: Record<string, number[][]> = Object.fromEntries(variants.map((v) => [v, []]))
  const confusion = basicExpressionNames.map(() => basicExpressionNames.map(() => 0))
  const base = ctx.preset.base
  for (const seed of seedList(ctx.seeds)) {
    const pre = (await go({ ...base, seed, runs: ['single'] }, { record: { params: true }, tag: `seed ${seed} pretrain` })).runs[0]
    const trunk = pre.params?.params.tasks[0]
    if (!trunk) throw new Error('table7: the pretraining run kept no parameters')
    const perFold: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v, []]))
    for (let fold = 0; fold < k; fold++) {
      const c = {
        ...base,
        seed,
        expressions: 'strong' as const,
        intensity: 2,
        train: pool - test,
        val: 0,
        test,
        folds: k,
        fold,
        runs: ['single', 'laf+ada'] as RunKind[],
      }
      const scratch = await go(c, { tag: `seed ${seed} fold ${fold} scratch` })
      const tuned = await go(c, { pretrained: [trunk, undefined], tag: `seed ${seed} fold ${fold} fine-tune` })
      const put = (v: string, r: RunResult) => perFold[v].push(r.test.acc)
      put('scratch single', scratch.runs[0])
      put('scratch laf+ada', scratch.runs[1])
      put('fine-tuned single', tuned.runs[0])
      put('fine-tuned laf+ada', tuned.runs[1])
      for (const [i, row] of tuned.runs[1].test.confusion.entries()) for (const [j, v] of row.entries()) confusion[i][j] += v
    }
    for (const v of variants) {
      acc[v].push(mean(perFold[v]))
      foldAcc[v].push(perFold[v])
    }
  }
  const s = Object.fromEntries(variants.map((v) => [v, summarise(acc[v])]))
  const claims = [
    judge('fine-tuned > from scratch (single task)', paired(acc['fine-tuned single'], acc['scratch single']), 'accuracy points'),
    judge('fine-tuned > from scratch (LAF+ADA)', paired(acc['fine-tuned laf+ada'], acc['scratch laf+ada']), 'accuracy points'),
    judge('fine-tuning with LAF+ADA > plain fine-tuning', paired(acc['fine-tuned laf+ada'], acc['fine-tuned single']), 'accuracy points'),
  ]
  const norm = confusion.map((r) => {
    const t = r.reduce((a, b) => a + b, 0)
    return r.map((v) => (t ? v / t : 0))
  })
  const md = [
    '# Table 7: transfer to strong expressions',
    '',
    presetLine(
      ctx,
      `Pretraining: the single-task expression network on the subtle set (13 classes, domain A). Target: ${pool} faces of the strong set (7 basic classes, intensity 2, rendering domain C), ${k}-fold cross-validation; a seed's accuracy is the mean over its folds. LAF+ADA fine-tuning trains the expression network together with the landmark network (domain B).`,
    ),
    '',
    mdTable(
      ['variant', 'accuracy (%)'],
      variants.map((v) => [v, fmtSummary(s[v], 100, 1)]),
    ),
    '',
    `Chance accuracy ${(100 / basicExpressionNames.length).toFixed(1)}%.`,
    '',
    ...claimsSection(claims),
    figureLink('accuracy', 'accuracy per variant'),
    '',
    figureLink('confusion', 'confusion of the fine-tuned LAF+ADA network'),
    '',
  ].join('\n')
  return {
    name: 'table7',
    title: 'Table 7',
    markdown: md,
    results: {
      preset: ctx.preset.name,
      seeds: ctx.seeds,
      folds: k,
      pool,
      accuracy: acc,
      foldAccuracy: foldAcc,
      summary: s,
      claims,
      confusion,
    },
    figures: {
      accuracy: barChart({
        title: 'Table 7: strong-expression accuracy (k-fold, 95% CI over seeds)',
        labels: variants,
        series: [{ name: 'accuracy %', values: variants.map((v) => 100 * s[v].mean), errors: variants.map((v) => 100 * s[v].half) }],
        yLabel: 'accuracy (%)',
      }),
      confusion: heatmap({
        title: 'Confusion (fine-tuned LAF+ADA, all folds and seeds)',
        rowLabels: basicExpressionNames,
        colLabels: basicExpressionNames,
        values: norm,
        xLabel: 'predicted',
        yLabel: 'true',
      }),
    },
    seconds: (performance.now() - t0) / 1000,
  }
}
