/** Fig. 3: TNDR over epochs and per conv layer; both tasks' pooled test features in 2-D with and without ADA. */
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
  seedList,
  summarise,
} from './common.ts'
import { missingSection, type PlanContext, type PlannedExperiment, type RunLookup, type RunRequest, runPlanned } from './plan.ts'
import { pca2, separation } from '../embed.ts'
import { judge, paired } from './stats.ts'
import { barChart, lineChart, scatterPlot } from './svg.ts'

/** Conv layers nearest to the paper's 1st, 10th, 20th and 30th of ResNet-34's 36, on a network with L conv layers (0-based). */
export const fig3Layers = (l: number): number[] => [...new Set([1, 10, 20, 30].map((k) => Math.round(((k - 1) / 35) * (l - 1))))]

/** Per seed, LAF and LAF+ADA, each recording the per-epoch layer TNDRs and pooled test features (seed 0: their t-SNE too). */
const fig3Runs = (ctx: PlanContext): RunRequest[] =>
  seedList(ctx.seeds).flatMap((seed) =>
    (['laf', 'laf+ada'] as const).map((kind) => ({
      config: { ...ctx.preset.base, seed, runs: [kind] },
      record: { traceNormsPerEpoch: true, features: ctx.preset.featurePoints, ...(seed === 0 ? { tsne: true } : {}) },
      tag: `seed ${seed}`,
    })),
  )

/** Fig. 3: (a) TNDR over epochs for four conv layers, (b) TNDR of every conv layer, (c) pooled test features in 2-D with and without ADA. */
const fig3Report = (ctx: PlanContext, have: RunLookup, seconds: number, why?: (r: RunRequest) => string): Report => {
  const planned = fig3Runs(ctx)
  const missing = planned.filter((r) => !have(r))
  // the seeds whose two runs both finished, [laf, laf+ada] each
  const results: (readonly RunResult[])[] = []
  for (let i = 0; i < planned.length; i += 2) {
    const pair = [have(planned[i]), have(planned[i + 1])]
    if (pair[0] && pair[1]) results.push(pair as RunResult[])
  }
  if (results.length === 0)
    return {
      name: 'fig3',
      title: 'Fig. 3',
      markdown: ['# Fig. 3: trace-norm decrease ratio and domain alignment', '', presetLine(ctx), '', ...missingSection(missing, why)].join(
        '\n',
      ),
      results: {
        preset: ctx.preset.name,
        seeds: ctx.seeds,
        claims: [],
        missing: missing.map((r) => ({ tag: r.tag, run: r.config.runs[0], seed: r.config.seed })),
      },
      figures: {},
      seconds,
    }
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
  const scatter = (run: number, title: string, method: 'pca' | 'tsne') => {
    const r = results[0][run]
    const f = r.features
    const pts = method === 'pca' ? pca2([...(f?.expr ?? []), ...(f?.lm ?? [])]) : [...(r.tsne ?? [])]
    const ne = f?.expr.length ?? 0
    return scatterPlot({
      title,
      xLabel: method === 'pca' ? 'PC 1' : 't-SNE 1',
      yLabel: method === 'pca' ? 'PC 2' : 't-SNE 2',
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
    `(c) Pooled test features of both tasks (${ctx.preset.featurePoints} per task, seed 0) in 2-D, without and with ADA: PCA, and t-SNE (perplexity min(30, (N − 1)/3), 750 steps, gradients from softshare's autodiff; \`tsne2\`). Domain separation d′ (distance of the two sets' means over the pooled spread, on the features themselves): LAF ${fmtSummary(summarise(sep(0)), 1, 2)}, LAF+ADA ${fmtSummary(summarise(sep(1)), 1, 2)}.`,
    '',
    figureLink('features-laf', 'features without ADA (PCA)'),
    '',
    figureLink('features-laf-ada', 'features with ADA (PCA)'),
    '',
    figureLink('tsne-laf', 'features without ADA (t-SNE)'),
    '',
    figureLink('tsne-laf-ada', 'features with ADA (t-SNE)'),
    '',
    ...claimsSection(claims),
    ...missingSection(missing, why),
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
      ...(missing.length > 0 ? { missing: missing.map((r) => ({ tag: r.tag, run: r.config.runs[0], seed: r.config.seed })) } : {}),
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
      'features-laf': scatter(0, 'Fig. 3c: pooled test features, LAF (no ADA), PCA', 'pca'),
      'features-laf-ada': scatter(1, 'Fig. 3c: pooled test features, LAF+ADA, PCA', 'pca'),
      'tsne-laf': scatter(0, 'Fig. 3c: pooled test features, LAF (no ADA), t-SNE', 'tsne'),
      'tsne-laf-ada': scatter(1, 'Fig. 3c: pooled test features, LAF+ADA, t-SNE', 'tsne'),
    },
    seconds,
  }
}

/** Fig. 3 as its two halves (see plan.ts). */
export const fig3Plan: PlannedExperiment = { name: 'fig3', runs: fig3Runs, report: fig3Report }

export const fig3 = (ctx: PaperContext): Promise<Report> => runPlanned(fig3Plan, ctx)
