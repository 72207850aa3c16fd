/**
 * Table 4: expression accuracy and landmark NME for single-task networks, hard sharing at every block boundary,
 * cross-stitch, and the three tensor trace norms (γ per norm from a validation sweep), each with and without ADA;
 * per-class accuracy and the confusion matrix; optionally ADA's effect against the domain shift.
 */
import { expressionNames } from '../../data/face-model.ts'
import type { ExperimentConfig, RunKind } from '../config.ts'
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
  seedList,
  summarise,
} from './common.ts'
import { missingSection, type PlanContext, type PlannedExperiment, type RunLookup, type RunRequest, runPlanned } from './plan.ts'
import { type Claim, claimTable, judge, paired } from './stats.ts'
import { barChart, heatmap, lineChart } from './svg.ts'

const norms = ['laf', 'tucker', 'tt'] as const
type Norm = (typeof norms)[number]

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

/** The sweep's runs at seed 0: the single-task baseline and every norm at every γ of the preset. */
const sweepRuns = (ctx: PlanContext) => {
  const s0 = { ...ctx.preset.base, seed: 0 }
  return {
    single: { config: { ...s0, runs: ['single'] }, tag: 'sweep' } as RunRequest,
    norms: norms.map((norm) => ({
      norm,
      runs: ctx.preset.gammas.map((g) => ({
        g,
        req: { config: { ...s0, runs: [norm], gamma: { ...s0.gamma, [norm]: g } }, tag: `sweep ${norm} γ=${g}` } as RunRequest,
      })),
    })),
  }
}

/** The γ of each norm whose sweep has finished (the first best score wins), and the sweep's table rows. */
const chooseGamma = (ctx: PlanContext, have: RunLookup) => {
  const sw = sweepRuns(ctx)
  const single0 = have(sw.single)
  const sweep: { norm: Norm; gamma: number; valAcc: number; valNme: number; score: number }[] = []
  const chosen: Partial<Record<Norm, number>> = {}
  if (single0)
    for (const { norm, runs } of sw.norms) {
      let best: { g: number; s: number } | undefined
      let complete = true
      for (const { g, req } of runs) {
        const r = have(req)
        if (!r) {
          complete = false
          continue
        }
        const s = score(r, single0)
        sweep.push({ norm, gamma: g, valAcc: r.val?.acc ?? Number.NaN, valNme: r.val?.nme ?? Number.NaN, score: s })
        if (!best || s > best.s) best = { g, s }
      }
      if (complete) chosen[norm] = best?.g ?? ctx.preset.base.gamma[norm]
    }
  return { sweep, chosen }
}

/** One run of the main grid (or the domain-shift sweep): its row label and request, γ set only for the norm it uses. */
interface Planned {
  readonly label: string
  readonly seed: number
  readonly req: RunRequest
}

/**
 * The main runs per seed in report order, each once its γ is known: single, the norms, hard sharing (±ADA) at every
 * boundary, cross-stitch (±ADA), the norms + ADA; then, with `--sweep domain-shift`, LAF and LAF+ADA at each shift.
 */
const mainRuns = (ctx: PlanContext, chosen: Partial<Record<Norm, number>>) => {
  const base = ctx.preset.base
  const boundaries = blockBoundaries(archOf(base, 2))
  const main: Planned[] = []
  const shift: (Planned & { shift: number })[] = []
  const at = (seed: number, kind: RunKind, tag: string, extra: Partial<ExperimentConfig> = {}): RunRequest | undefined => {
    const norm = norms.find((n) => kind === n || kind === `${n}+ada`)
    const g = norm && chosen[norm]
    if (norm && g === undefined) return undefined
    const gamma = norm ? { ...base.gamma, [norm]: g } : base.gamma
    return { config: { ...base, seed, gamma, ...extra, runs: [kind] }, tag }
  }
  const push = (list: Planned[], label: string, seed: number, req: RunRequest | undefined) => {
    if (req) list.push({ label, seed, req })
  }
  for (const seed of seedList(ctx.seeds)) {
    for (const k of ['single', ...norms] as const)
      push(main, k, seed, at(seed, k, seed === 0 && k !== 'single' ? `sweep ${k}` : `seed ${seed}`))
    for (const b of boundaries)
      for (const k of ['hard', 'hard+ada'] as const)
        push(main, k.replace('hard', `hard-${b}`), seed, at(seed, k, `seed ${seed} hard-${b}`, { hardLayers: b }))
    for (const k of ['cross-stitch', 'cross-stitch+ada', 'laf+ada', 'tucker+ada', 'tt+ada'] as const)
      push(main, k, seed, at(seed, k, `seed ${seed}`))
  }
  if (ctx.sweep === 'domain-shift')
    for (const s of ctx.preset.shifts)
      for (const seed of seedList(ctx.seeds))
        for (const k of ['laf', 'laf+ada'] as const) {
          // at the base shift these are the main runs (same config, same numbers)
          const req = at(seed, k, `shift ${s} seed ${seed}`, s === base.domainShift ? {} : { domainShift: s })
          if (req) shift.push({ label: k, seed, req, shift: s })
        }
  return { boundaries, main, shift }
}

/** Every run of Table 4 that can be named from the results so far: the γ sweep first, then what its choice allows. */
const table4Runs = (ctx: PlanContext, have: RunLookup): RunRequest[] => {
  const sw = sweepRuns(ctx)
  const { main, shift } = mainRuns(ctx, chooseGamma(ctx, have).chosen)
  return [sw.single, ...sw.norms.flatMap((n) => n.runs.map((r) => r.req)), ...main.map((m) => m.req), ...shift.map((m) => m.req)]
}

const table4Report = (ctx: PlanContext, have: RunLookup, seconds: number, why?: (r: RunRequest) => string): Report => {
  const seeds = seedList(ctx.seeds)
  const { sweep, chosen } = chooseGamma(ctx, have)
  const { boundaries, main, shift: shiftRuns } = mainRuns(ctx, chosen)
  const gamma = { laf: chosen.laf, tucker: chosen.tucker, tt: chosen.tt }
  const missing = table4Runs(ctx, have).filter((r) => !have(r))
  const rows: Record<string, Row[]> = {}
  for (const m of main) {
    const r = have(m.req)
    if (!r) continue
    rows[m.label] ??= []
    rows[m.label].push(row(r))
  }
  const order = [
    'single',
    ...boundaries.flatMap((k) => [`hard-${k}`, `hard-${k}+ada`]),
    'cross-stitch',
    'cross-stitch+ada',
    ...norms.flatMap((n) => [n, `${n}+ada`]),
  ]
  const bySeed = (label: string, f: (r: Row) => number) => [...(rows[label] ?? [])].sort((a, b) => a.seed - b.seed).map(f)
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
  // 3. the paper's claims, on paired per-seed differences (positive supports the claim; seeds both runs finished)
  const vs = (a: string, b: string, f: (r: Row) => number) => {
    const common = seeds.filter((s) => rows[a]?.some((r) => r.seed === s) && rows[b]?.some((r) => r.seed === s))
    const pick = (l: string) => common.map((s) => f(rows[l].find((r) => r.seed === s) as Row))
    return paired(pick(a), pick(b))
  }
  const acc = (r: Row) => r.acc
  const nme = (r: Row) => r.nme
  const hardBest = boundaries.map((k) => `hard-${k}`).sort((a, b) => summary[b].acc.mean - summary[a].acc.mean)[0]
  const claims: Claim[] = [
    judge('LAF (soft sharing) > single-task: expression accuracy', vs('laf', 'single', acc), 'accuracy points'),
    judge('LAF < single-task: landmark NME', vs('single', 'laf', nme), 'NME points'),
    judge(`soft > hard: LAF > ${hardBest} (the best hard split): expression accuracy`, vs('laf', hardBest, acc), 'accuracy points'),
    judge(`soft < hard: LAF < ${hardBest}: landmark NME`, vs(hardBest, 'laf', nme), 'NME points'),
    judge('LAF > cross-stitch: expression accuracy', vs('laf', 'cross-stitch', acc), 'accuracy points'),
    ...norms.flatMap((n) => [
      judge(`${n.toUpperCase()}+ADA > ${n.toUpperCase()}: expression accuracy`, vs(`${n}+ada`, n, acc), 'accuracy points'),
      judge(`${n.toUpperCase()}+ADA < ${n.toUpperCase()}: landmark NME`, vs(n, `${n}+ada`, nme), 'NME points'),
    ]),
  ]
  // 4. domain-shift sweep: ADA's effect on top of LAF as the two domains move apart (seeds with both runs finished)
  let shift: { shift: number; accGain: number[]; nmeGain: number[] }[] | undefined
  if (ctx.sweep === 'domain-shift') {
    shift = []
    for (const s of ctx.preset.shifts) {
      const accGain: number[] = []
      const nmeGain: number[] = []
      for (const seed of seeds) {
        const [laf, ada] = ['laf', 'laf+ada'].map((k) => {
          const p = shiftRuns.find((m) => m.shift === s && m.seed === seed && m.label === k)
          return p && have(p.req)
        })
        if (!laf || !ada) continue
        accGain.push(ada.test.acc - laf.test.acc)
        nmeGain.push(laf.test.nme - ada.test.nme)
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
    const sum = expressionNames.map(() => expressionNames.map(() => 0))
    for (const r of rows[label] ?? []) for (const [i, cr] of r.confusion.entries()) for (const [j, v] of cr.entries()) sum[i][j] += v
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
        chosen[s.norm as Norm] === s.gamma ? '✔' : '',
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
    ...missingSection(missing, why),
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
      ...(missing.length > 0 ? { missing: missing.map((r) => ({ tag: r.tag, run: r.config.runs[0], seed: r.config.seed })) } : {}),
    },
    figures,
    seconds,
  }
}

/** Table 4 as its two halves (see plan.ts). */
export const table4Plan: PlannedExperiment = { name: 'table4', runs: table4Runs, report: table4Report }

export const table4 = (ctx: PaperContext): Promise<Report> => runPlanned(table4Plan, ctx)
