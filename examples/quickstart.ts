/**
 * Quickstart: the paper's method end to end on synthetic faces. Task A (13-class subtle expression
 * recognition) lives on domain A, task B (68-point landmark regression, l1 loss) on a disjoint, shifted
 * domain B. Trains single-task networks, two-task LAF trace-norm sharing, and LAF + ADA with a small ResNet
 * (or, with --runs, any of the paper's Table 4 set), then prints expression accuracy, landmark NME, the LAF
 * trace norm at init and end (TNDR) and time per epoch. Each epoch line also carries the validation split's
 * `val_acc`, `val_nme` and `val_err`, which pick every run's `best.safetensors` under `--out` (`--best-metric`).
 * The work is `runExperiment` (src/experiments/).
 *
 *   npm start                      # default preset (a few minutes on 2 CPU cores)
 *   npm start -- --preset small    # one-minute smoke run
 *   npm start -- --epochs 10 --runs single,hard,cross-stitch,laf,tucker,tt --log runs/quickstart.jsonl --out runs
 *   npm start -- --resume runs/20261130-101500-laf   # continue a killed run from its latest checkpoint
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { NUM_EXPRESSIONS } from '../src/data/index.ts'
import { type ExperimentConfig, type RunResult, runExperiment } from '../src/experiments/index.ts'
import { backendFor, fitRun, jsonlLog, prepareOut, phaseProgress, progressLines } from '../src/node/index.ts'
import { type BestMetric, bestOf, parseQuickstart, toExperimentConfig, usage } from './quickstart-config.ts'

const table = (rs: readonly RunResult[]): string => {
  const head = ['run', 'expr acc (A)', 'landmark NME (B)', 'LAF norm init', 'LAF norm end', 'TNDR', 's/epoch']
  const rows = rs.map((r) => [
    r.run,
    `${(100 * r.test.acc).toFixed(1)}%`,
    `${(100 * r.test.nme).toFixed(2)}%`,
    r.tnInit.toFixed(1),
    r.tnEnd.toFixed(1),
    (r.tnEnd / r.tnInit).toFixed(3),
    r.secondsPerEpoch.toFixed(1),
  ])
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) => `| ${cells.map((s, i) => (i === 0 ? s.padEnd(w[i]) : s.padStart(w[i]))).join(' | ')} |`
  return [
    line(head),
    `|${w.map((n, i) => (i === 0 ? `:${'-'.repeat(n + 1)}` : `${'-'.repeat(n + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n')
}

interface SavedRun {
  readonly experiment: ExperimentConfig
  readonly run: ExperimentConfig['runs'][number]
  /** Absent in run directories written before validation picked `best` (they used the training loss). */
  readonly best?: ReturnType<typeof bestOf>
}

const readRunConfig = (dir: string): SavedRun => {
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
  } catch (e) {
    throw new Error(
      `--resume ${dir}: not a run directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message} reading its config.json)`,
    )
  }
}

const main = async (): Promise<void> => {
  const parsed = parseQuickstart(process.argv.slice(2))
  if (!parsed.ok) {
    for (const e of parsed.errors) process.stderr.write(`quickstart: ${e}\n`)
    process.stderr.write(`${usage}\n`)
    process.exit(parsed.errors.length ? 2 : 0)
  }
  const q = parsed.config
  // outputs are checked before any data is made or step taken
  let log: ((record: object) => void) | undefined
  let c = toExperimentConfig(q)
  let best = bestOf(q)
  try {
    if (q.out) prepareOut(q.out)
    log = q.log ? jsonlLog(q.log) : undefined
    if (q.resume) {
      // a run directory's config.json holds its experiment and run: continue that one run
      const saved = readRunConfig(q.resume)
      c = { ...saved.experiment, runs: [saved.run] }
      best = saved.best ?? { metric: 'loss' as BestMetric, mode: 'min' }
      if (q.bestMetric && q.bestMetric !== best.metric)
        throw new Error(`--best-metric ${q.bestMetric}: the run ${q.resume} keeps best by ${best.metric}, the metric it started with`)
    }
  } catch (e) {
    process.stderr.write(`quickstart: ${(e as Error).message}\n`)
    process.exit(2)
  }
  console.log(
    `softshare quickstart (${q.resume ? `resuming ${q.resume}` : `preset ${q.preset}`}): ${c.train}+${c.val}+${c.test} (train+val+test) faces per task at ${c.size}×${c.size}, ` +
      `${c.arch} ResNet (width ${c.width}), ${c.epochs} epochs, batch ${c.batch}, Adam lr ${c.lr}, trace-norm γ ${c.gamma.laf} ` +
      `(Tucker/TT SVD rank ${c.svdRank}), ADA weight ${c.adaWeight}, backend ${c.backend}`,
  )
  const r = await runExperiment(c, {
    backend: await backendFor(c.backend),
    print: (l) => console.log(l),
    // a plain line every 10 s, so piped output (CI, tee, nohup) shows the run is alive
    onProgress: progressLines(undefined, 10),
    onPhase: phaseProgress(),
    ...(log ? { log } : {}),
    // validation metrics on every epoch line and log record; the test numbers do not depend on it
    epochValidation: c.val > 0,
    ...(q.out || q.resume
      ? {
          fit: (init, fc, run) =>
            fitRun(init, fc, {
              ...(q.resume ? { resume: q.resume } : { out: q.out, name: run, config: { experiment: c, run, best } }),
              everySteps: q.checkpointEvery,
              best,
            }),
        }
      : {}),
  })
  console.log(`\n${table(r.runs)}\n`)
  for (const run of r.runs) console.log(`TNDR per conv layer (${run.run}): ${run.tndrLayers.map((v) => v.toFixed(2)).join(' ')}`)
  console.log(
    `baselines: chance ${(100 / NUM_EXPRESSIONS).toFixed(1)}% expression accuracy, mean-shape NME ${(100 * r.baselines.meanShapeNme).toFixed(2)}%; ` +
      `total time ${r.seconds.toFixed(0)}s`,
  )
}

main().catch((e) => {
  process.stderr.write(`quickstart: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exit(1)
})
