/**
 * Table 5 (handcrafted LBP baseline vs the ResNets), Table 6 (landmarks: l1 vs l2, two normalisations, three test
 * subsets, cumulative error curves), Table 7 (transfer to strong expressions with k-fold cross-validation) and
 * Fig. 3 (TNDR over epochs and per layer; pooled features with and without ADA in 2-D).
 */
import { basicExpressionNames } from '../../data/face-model.ts'
import { cumulativeErrors } from '../../data/landmarks.ts'
import type { RunKind } from '../config.ts'
import type { RunResult } from '../run.ts'
import { figureLink, fmtSummary, mdTable, type PaperContext, presetLine, type Report, runner, seedList, summarise } from './common.ts'
import { pca2, separation } from './embed.ts'
import { lbpFeatures, logisticRegression } from './lbp.ts'
import { type Claim, claimTable, judge, paired } from './stats.ts'
import { barChart, heatmap, lineChart, scatterPlot } from './svg.ts'

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const claimsSection = (cs: readonly Claim[]): string[] => ['## Claims', '', claimTable(cs), '']

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

/** Conv layers nearest to the paper's 1st, 10th, 20th and 30th of ResNet-34's 36, on a network with L conv layers (0-based). */
export const fig3Layers = (l: number): number[] => [...new Set([1, 10, 20, 30].map((k) => Math.round(((k - 1) / 35) * (l - 1))))]

/** Fig. 3: (a) TNDR over epochs for four conv layers, (b) TNDR of every conv layer, (c) pooled test features in 2-D with and without ADA. */
export const fig3 = async (ctx: PaperContext): Promise<Report> => {
  const t0 = performance.now()
  const go = runner(ctx, 'fig3')
  const results: (readonly RunResult[])[] = []
  for (const seed of seedList(ctx.seeds))
    results.push(
      (
        await go(
          { ...ctx.preset.base, seed, runs: ['laf', 'laf+ada'] },
          { record: { traceNormsPerEpoch: true, features: ctx.preset.featurePoints }, tag: `seed ${seed}` },
        )
      ).runs,
    )
  const nLayers = results[0][0].tndrLayers.length
  const picked = fig3Layers(nLayers)
  const epochs = results[0][0].tndrEpochs?.length ?? 0
  const curve = (run: number, layer: number) => [
    1,
    ...Array.from({ length: epochs }, (_, e) => mean(results.map((r) => r[run].tndrEpochs?.[e][layer] ?? Number.NaN))),
  ]
  const perLayer = (run: number) => Array.from({ length: nLayers }, (_, l) => summarise(results.map((r) => r[run].tndrLayers[l])))
  const half = Math.floor(nLayers / 2)
  const earlyLate = (run: number) => results.map((r) => mean(r[run].tndrLayers.slice(half)) - mean(r[run].tndrLayers.slice(0, half)))
  const sep = (run: number) => results.map((r) => separation(r[run].features?.expr ?? [], r[run].features?.lm ?? []))
  const claims = [
    judge(`early layers share more (LAF): mean TNDR of conv layers 1–${half} < layers ${half + 1}–${nLayers}`, earlyLate(0), 'TNDR', 1),
    judge(`early layers share more (LAF+ADA)`, earlyLate(1), 'TNDR', 1),
    judge("ADA aligns the two tasks' pooled test features (domain separation d′ lower with ADA)", paired(sep(0), sep(1)), 'd′', 1),
  ]
  const scatter = (run: number, title: string) => {
    const f = results[0][run].features
    const pts = pca2([...(f?.expr ?? []), ...(f?.lm ?? [])])
    const ne = f?.expr.length ?? 0
    return scatterPlot({
      title,
      xLabel: 'PC 1',
      yLabel: 'PC 2',
      groups: [
        { name: 'expression set (A)', points: pts.slice(0, ne) },
        { name: 'landmark set (B)', points: pts.slice(ne) },
      ],
    })
  }
  const md = [
    '# Fig. 3: trace-norm decrease ratio and domain alignment',
    '',
    presetLine(
      ctx,
      `LAF γ ${ctx.preset.base.gamma.laf}. TNDR = LAF norm of a conv layer's stacked task weights over its value at initialisation.`,
    ),
    '',
    `(a) TNDR against epochs for conv layers ${picked.map((l) => l + 1).join(', ')} of ${nLayers} (nearest to the paper's 1st, 10th, 20th, 30th of ResNet-34); mean over seeds.`,
    '',
    figureLink('tndr-epochs', 'TNDR against epochs'),
    '',
    '(b) TNDR of every conv layer after training:',
    '',
    mdTable(
      ['conv layer', 'LAF', 'LAF+ADA'],
      Array.from({ length: nLayers }, (_, l) => [String(l + 1), fmtSummary(perLayer(0)[l], 1, 3), fmtSummary(perLayer(1)[l], 1, 3)]),
    ),
    '',
    figureLink('tndr-layers', 'TNDR per conv layer'),
    '',
    `(c) Pooled test features of both tasks (${ctx.preset.featurePoints} per task, seed 0), PCA to 2-D, without and with ADA. Domain separation d′ (distance of the two sets' means over the pooled spread): LAF ${fmtSummary(summarise(sep(0)), 1, 2)}, LAF+ADA ${fmtSummary(summarise(sep(1)), 1, 2)}.`,
    '',
    figureLink('features-laf', 'features without ADA'),
    '',
    figureLink('features-laf-ada', 'features with ADA'),
    '',
    ...claimsSection(claims),
  ].join('\n')
  return {
    name: 'fig3',
    title: 'Fig. 3',
    markdown: md,
    results: {
      preset: ctx.preset.name,
      seeds: ctx.seeds,
      layers: picked.map((l) => l + 1),
      tndrEpochs: { laf: results.map((r) => r[0].tndrEpochs), 'laf+ada': results.map((r) => r[1].tndrEpochs) },
      tndrLayers: { laf: results.map((r) => r[0].tndrLayers), 'laf+ada': results.map((r) => r[1].tndrLayers) },
      separation: { laf: sep(0), 'laf+ada': sep(1) },
      claims,
    },
    figures: {
      'tndr-epochs': lineChart({
        title: 'Fig. 3a: TNDR against epochs (LAF)',
        xLabel: 'epoch',
        yLabel: 'TNDR',
        series: picked.map((l) => ({ name: `conv ${l + 1}`, xs: Array.from({ length: epochs + 1 }, (_, e) => e), ys: curve(0, l) })),
      }),
      'tndr-layers': barChart({
        title: 'Fig. 3b: TNDR per conv layer after training (95% CI)',
        labels: Array.from({ length: nLayers }, (_, l) => `conv ${l + 1}`),
        series: [
          { name: 'LAF', values: perLayer(0).map((s) => s.mean), errors: perLayer(0).map((s) => s.half) },
          { name: 'LAF+ADA', values: perLayer(1).map((s) => s.mean), errors: perLayer(1).map((s) => s.half) },
        ],
        yLabel: 'TNDR',
      }),
      'features-laf': scatter(0, 'Fig. 3c: pooled test features, LAF (no ADA)'),
      'features-laf-ada': scatter(1, 'Fig. 3c: pooled test features, LAF+ADA'),
    },
    seconds: (performance.now() - t0) / 1000,
  }
}
