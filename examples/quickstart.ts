/**
 * Quickstart: the paper's method end to end on synthetic faces. Task A (13-class subtle expression
 * recognition) lives on domain A, task B (68-point landmark regression, l1 loss) on a disjoint, shifted
 * domain B. Trains single-task networks, two-task LAF trace-norm sharing, and LAF + ADA with a small ResNet
 * (or, with --runs, any of the paper's Table 4 set), then prints expression accuracy, landmark NME, the LAF
 * trace norm at init and end (TNDR) and time per epoch. The work is `runExperiment` (src/experiments/).
 *
 *   npm start                      # default preset (a few minutes on 2 CPU cores)
 *   npm start -- --preset small    # one-minute smoke run
 *   npm start -- --epochs 10 --runs single,hard,cross-stitch,laf,tucker,tt --log runs/quickstart.jsonl --out runs/ckpt
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { NUM_EXPRESSIONS } from '../src/data/index.ts'
import { type RunResult, runExperiment } from '../src/experiments/index.ts'
import { backendFor, jsonlLog, saveCheckpoint } from '../src/node/index.ts'
import { parseQuickstart, toExperimentConfig, usage } from './quickstart-config.ts'

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

const main = async (): Promise<void> => {
  const parsed = parseQuickstart(process.argv.slice(2))
  if (!parsed.ok) {
    for (const e of parsed.errors) process.stderr.write(`quickstart: ${e}\n`)
    process.stderr.write(`${usage}\n`)
    process.exit(parsed.errors.length ? 2 : 0)
  }
  const q = parsed.config
  const c = toExperimentConfig(q)
  console.log(
    `softshare quickstart (preset ${q.preset}): ${c.train}+${c.test} faces per task at ${c.size}×${c.size}, ` +
      `${c.arch} ResNet (width ${c.width}), ${c.epochs} epochs, batch ${c.batch}, Adam lr ${c.lr}, trace-norm γ ${q.gamma} ` +
      `(Tucker/TT SVD rank ${c.svdRank}), ADA weight ${c.adaWeight}, backend ${c.backend}`,
  )
  const r = await runExperiment(c, {
    backend: await backendFor(c.backend),
    print: (l) => console.log(l),
    record: { params: !!q.out },
    ...(q.log ? { log: jsonlLog(q.log) } : {}),
  })
  if (q.out) {
    mkdirSync(q.out, { recursive: true })
    for (const run of r.runs)
      if (run.params)
        saveCheckpoint(
          join(q.out, `${run.run}.ckpt`),
          { params: run.params.params as any, modelState: run.params.state as any },
          {
            run: run.run,
            config: c,
            acc: run.test.acc,
            nme: run.test.nme,
          },
        )
  }
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
