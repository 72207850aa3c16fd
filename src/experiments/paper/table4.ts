/**
 * Table 4: expression accuracy and landmark NME for single-task networks, hard sharing at every block boundary,
 * cross-stitch, and the three tensor trace norms (γ per norm from a validation sweep), each with and without ADA;
 * per-class accuracy and the confusion matrix; optionally ADA's effect against the domain shift.
 */
import { expressionNames } from '../../data/face-model.ts'
import type { ExperimentConfig } from '../config.ts'
import type { RunResult } from '../run.ts'
import { archOf } from '../run.ts'
import {
  blockBoundaries,
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
import { type Claim, claimTable, judge, paired } from './stats.ts'
import { barChart, heatmap, lineChart } from './svg.ts'

const norms = ['laf', 'tucker', 'tt'] as const

/** Per seed, the numbers of one run that the report and results.json carry. */
const row = (r: RunResult) => ({
  seed: r.seed,
  acc: r.test.acc,
  nme: r.test.nme,
  nmeIP: r.test.nmeIP.full,
  tndr: r.tnEnd / r.tnInit,
  tndrLayers: r.tndrLayers,
  perClass: r.test.perClass,
  confusion: r.test.confusion,
  secondsPerEpoch: r.secondsPerEpoch,
})
type Row = ReturnType<typeof row>

/** Validation score of a run against the single-task baseline: the two tasks' relative improvements, summed. */
const score = (r: RunResult, single: RunResult): number => {
  const v = r.val
  const s = single.val
  if (!v || !s) return Number.NaN
  return (v.acc - s.acc) / Math.max(1e-9, s.acc) + (s.nme - v.nme) / s.nme
}

export const table4 = async (ctx: PaperContext): Promise<Report> => {
  const t0 = performance.now()
  const go = runner(ctx, 'table4')
  const base: ExperimentConfig = ctx.preset.base
  const seeds = seedList(ctx.seeds)
  const boundaries = blockBoundaries(archOf(base, 2))
  // 1. γ per norm on the validation split (seed 0); the chosen γ's run doubles as seed 0's final run
  const s0 = { ...base, seed: seeds[0] }
  const single0 = (await go({ ...s0, runs: ['single'] }, { tag: 'sweep' })).runs[0]
  const sweep: { norm: string; gamma: number; valAcc: number; valNme: number; score: number }[] = []
  const chosen: Record<string, number> = {}
  const chosenRuns: Record<string, RunResult> = {}
  for (const norm of norms) {
    let best: { g: number; s: number; r: RunResult } | undefined
    for (const g of ctx.preset.gammas) {
      const r = (await go({ ...s0, runs: [norm], gamma: { ...s0.gamma, [norm]: g } }, { tag: `sweep ${norm} γ=${g}` })).runs[0]
      const s = score(r, single0)
      sweep.push({ norm, gamma: g, valAcc: r.val?.acc ?? Number.NaN, valNme: r.val?.nme ?? Number.NaN, score: s })
      if (!best || s > best.s) best = { g, s, r }
    }
    chosen[norm] = best?.g ?? base.gamma[norm]
    if (best) chosenRuns[norm] = best.r
  }
  const gamma = { laf: chosen.laf, tucker: chosen.tucker, tt: chosen.tt }
  // 2. every scheme, every seed
  const rows: Record<string, Row[]> = {}
  const add = (label: string, r: RunResult) => {
    rows[label] ??= []
    rows[label].push(row(r))
  }
  for (const seed of seeds) {
    const c = { ...base, seed, gamma }
    if (seed === seeds[0]) {
      add('single', single0)
      for (const n of norms) add(n, chosenRuns[n])
    } else for (const r of (await go({ ...c, runs: ['single', ...norms] }, { tag: `seed ${seed}` })).runs) add(r.run, r)
    for (const k of boundaries)
      for (const r of (await go({ ...c, runs: ['hard', 'hard+ada'], hardLayers: k }, { tag: `seed ${seed} hard-${k}` })).runs)
        add(r.run.replace('hard', `hard-${k}`), r)
    for (const r of (
      await go({ ...c, runs: ['cross-stitch', 'cross-stitch+ada', 'laf+ada', 'tucker+ada', 'tt+ada'] }, { tag: `seed ${seed}` })
    ).runs)
      add(r.run, r)
  }
  const order = [
    'single',
    ...boundaries.flatMap((k) => [`hard-${k}`, `hard-${k}+ada`]),
    'cross-stitch',
    'cross-stitch+ada',
    ...norms.flatMap((n) => [n, `${n}+ada`]),
  ]
  const bySeed = (label: string, f: (r: Row) => number) => [...rows[label]].sort((a, b) => a.seed - b.seed).map(f)
  const summary = Object.fromEntries(
    order.map((l) => [
      l,
      {
        acc: summarise(bySeed(l, (r) => r.acc)),
        nme: summarise(bySeed(l, (r) => r.nme)),
        nmeIP: summarise(bySeed(l, (r) => r.nmeIP)),
        tndr: summarise(bySeed(l, (r) => r.tndr)),
        secondsPerEpoch: summarise(bySeed(l, (r) => r.secondsPerEpoch)),
      },
    ]),
  )
  // 3. the paper's claims, on paired per-seed differences (positive supports the claim)
  const acc = (l: string) => bySeed(l, (r) => r.acc)
  const nme = (l: string) => bySeed(l, (r) => r.nme)
  const hardBest = boundaries.map((k) => `hard-${k}`).sort((a, b) => summary[b].acc.mean - summary[a].acc.mean)[0]
  const claims: Claim[] = [
    judge('LAF (soft sharing) > single-task: expression accuracy', paired(acc('laf'), acc('single')), 'accuracy points'),
    judge('LAF < single-task: landmark NME', paired(nme('single'), nme('laf')), 'NME points'),
    judge(
      `soft > hard: LAF > ${hardBest} (the best hard split): expression accuracy`,
      paired(acc('laf'), acc(hardBest)),
      'accuracy points',
    ),
    judge(`soft < hard: LAF < ${hardBest}: landmark NME`, paired(nme(hardBest), nme('laf')), 'NME points'),
    judge('LAF > cross-stitch: expression accuracy', paired(acc('laf'), acc('cross-stitch')), 'accuracy points'),
    ...norms.flatMap((n) => [
      judge(`${n.toUpperCase()}+ADA > ${n.toUpperCase()}: expression accuracy`, paired(acc(`${n}+ada`), acc(n)), 'accuracy points'),
      judge(`${n.toUpperCase()}+ADA < ${n.toUpperCase()}: landmark NME`, paired(nme(n), nme(`${n}+ada`)), 'NME points'),
    ]),
  ]
  // 4. domain-shift sweep: ADA's effect on top of LAF as the two domains move apart
  let shift: { shift: number; accGain: number[]; nmeGain: number[] }[] | undefined
  if (ctx.sweep === 'domain-shift') {
    shift = []
    for (const s of ctx.preset.shifts) {
      const accGain: number[] = []
      const nmeGain: number[] = []
      for (const [i, seed] of seeds.entries()) {
        // at the base shift these are the main runs: reuse them (same config, same data, same numbers)
        const [lafRow, adaRow] =
          s === base.domainShift
            ? [rows.laf[i], rows['laf+ada'][i]]
            : (await go({ ...base, seed, gamma, domainShift: s, runs: ['laf', 'laf+ada'] }, { tag: `shift ${s} seed ${seed}` })).runs.map(
                row,
              )
        accGain.push(adaRow.acc - lafRow.acc)
        nmeGain.push(lafRow.nme - adaRow.nme)
      }
      shift.push({ shift: s, accGain, nmeGain })
    }
  }
  const shiftClaims = (shift ?? []).flatMap((s) => [
    judge(`domainShift ${s.shift}: LAF+ADA > LAF, expression accuracy`, s.accGain, 'accuracy points'),
    judge(`domainShift ${s.shift}: LAF+ADA < LAF, landmark NME`, s.nmeGain, 'NME points'),
  ])
  // figures
  const pct = (l: string, k: 'acc' | 'nme') => 100 * summary[l][k].mean
  const err = (l: string, k: 'acc' | 'nme') => 100 * summary[l][k].half
  const confusion = (label: string) => {
    const sum = rows[label][0].confusion.map((r) => r.map(() => 0))
    for (const r of rows[label]) for (const [i, cr] of r.confusion.entries()) for (const [j, v] of cr.entries()) sum[i][j] += v
    return sum.map((r) => {
      const t = r.reduce((a, b) => a + b, 0)
      return r.map((v) => (t ? v / t : 0))
    })
  }
  const figures: Record<string, string> = {
    accuracy: barChart({
      title: 'Table 4: expression accuracy (test, 95% CI)',
      labels: order,
      series: [{ name: 'accuracy %', values: order.map((l) => pct(l, 'acc')), errors: order.map((l) => err(l, 'acc')) }],
      yLabel: 'accuracy (%)',
    }),
    nme: barChart({
      title: 'Table 4: landmark NME (test, inter-ocular, 95% CI)',
      labels: order,
      series: [{ name: 'NME %', values: order.map((l) => pct(l, 'nme')), errors: order.map((l) => err(l, 'nme')) }],
      yLabel: 'NME (%)',
    }),
    'per-class': barChart({
      title: 'Per-class accuracy: single vs LAF+ADA',
      labels: expressionNames,
      series: ['single', 'laf+ada'].map((l) => ({
        name: l,
        values: expressionNames.map((_, c) => 100 * summarise(bySeed(l, (r) => r.perClass[c])).mean),
        errors: expressionNames.map((_, c) => 100 * summarise(bySeed(l, (r) => r.perClass[c])).half),
      })),
      yLabel: 'recall (%)',
    }),
    confusion: heatmap({
      title: 'Confusion (LAF+ADA, all seeds, row-normalised)',
      rowLabels: expressionNames,
      colLabels: expressionNames,
      values: confusion('laf+ada'),
      xLabel: 'predicted',
      yLabel: 'true',
    }),
    'gamma-sweep': lineChart({
      title: 'γ sweep on the validation split (seed 0)',
      xLabel: 'log10 γ',
      yLabel: 'score (relative gain over single)',
      series: norms.map((n) => ({
        name: n,
        xs: sweep.filter((s) => s.norm === n).map((s) => Math.log10(s.gamma)),
        ys: sweep.filter((s) => s.norm === n).map((s) => s.score),
      })),
    }),
  }
  if (shift)
    figures['domain-shift'] = lineChart({
      title: 'ADA effect on top of LAF against the domain shift',
      xLabel: 'domainShift',
      yLabel: 'LAF+ADA − LAF (points)',
      series: [
        { name: 'accuracy gain', xs: shift.map((s) => s.shift), ys: shift.map((s) => 100 * summarise(s.accGain).mean) },
        { name: 'NME reduction', xs: shift.map((s) => s.shift), ys: shift.map((s) => 100 * summarise(s.nmeGain).mean) },
      ],
    })
  const md = [
    '# Table 4: sharing schemes and ADA on the two tasks',
    '',
    presetLine(ctx, `Hard sharing at the block boundaries k = ${boundaries.join(', ')} conv units.`),
    '',
    '## γ per trace norm (validation split, seed 0)',
    '',
    'Score = relative accuracy gain + relative NME reduction over the single-task networks on the validation faces.',
    '',
    mdTable(
      ['norm', 'γ', 'val acc', 'val NME', 'score', 'chosen'],
      sweep.map((s) => [
        s.norm,
        String(s.gamma),
        `${(100 * s.valAcc).toFixed(1)}%`,
        `${(100 * s.valNme).toFixed(2)}%`,
        s.score.toFixed(4),
        chosen[s.norm] === s.gamma ? '✔' : '',
      ]),
    ),
    '',
    '## Results (test split)',
    '',
    mdTable(
      ['run', 'expr acc (%)', 'NME inter-ocular (%)', 'NME inter-pupil (%)', 'LAF TNDR', 's/epoch'],
      order.map((l) => [
        l,
        fmtSummary(summary[l].acc, 100, 1),
        fmtSummary(summary[l].nme, 100, 2),
        fmtSummary(summary[l].nmeIP, 100, 2),
        fmtSummary(summary[l].tndr, 1, 3),
        summary[l].secondsPerEpoch.mean.toFixed(1),
      ]),
    ),
    '',
    `Chance accuracy ${(100 / expressionNames.length).toFixed(1)}%.`,
    '',
    '## Claims',
    '',
    claimTable(claims),
    '',
    ...(shift
      ? [
          '## ADA against the domain shift (`--sweep domain-shift`)',
          '',
          "domainShift interpolates the landmark domain B's rendering from domain A's (0) to the documented B (1) and beyond.",
          '',
          claimTable(shiftClaims),
          '',
          figureLink('domain-shift', 'ADA effect against the domain shift'),
          '',
        ]
      : []),
    '## Figures',
    '',
    figureLink('accuracy', 'expression accuracy per run'),
    '',
    figureLink('nme', 'landmark NME per run'),
    '',
    figureLink('per-class', 'per-class accuracy'),
    '',
    figureLink('confusion', 'confusion matrix'),
    '',
    figureLink('gamma-sweep', 'gamma sweep'),
    '',
  ].join('\n')
  return {
    name: 'table4',
    title: 'Table 4',
    markdown: md,
    results: {
      preset: ctx.preset.name,
      seeds: ctx.seeds,
      boundaries,
      sweep,
      gamma,
      runs: rows,
      summary,
      claims: [...claims, ...shiftClaims],
      ...(shift ? { domainShift: shift } : {}),
    },
    figures,
    seconds: (performance.now() - t0) / 1000,
  }
}
