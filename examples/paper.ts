/**
 * The paper's experiments, one command each: writes DIR/<name>/report.md, results.json, log.jsonl and figures
 * (SVG + PNG). `all` runs every experiment in turn.
 *
 *   npm run paper -- table4 --preset smoke
 *   npm run paper -- all --preset default --out examples/reports
 *   npm run paper -- table4 --sweep domain-shift --seeds 5 --backend gpu
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isLeft } from 'fp-ts/lib/Either.js'
import {
  allOrder,
  experimentNames,
  type ExperimentName,
  paperExperiments,
  paperPresets,
  presetNames,
} from '../src/experiments/paper/index.ts'
import { backendFor, jsonlLog, phaseProgress, progressLines, readExperimentConfig } from '../src/node/index.ts'
import { checkWritable, writeIndex, writeReport } from '../src/node/report.ts'
import { flag, parseFlags } from '../src/train/flags.ts'
import type { ExperimentData } from '../src/experiments/data.ts'

const usage = `usage: npm run paper -- <${[...experimentNames, 'all'].join('|')}> [--preset ${presetNames.join('|')}] [--seeds N]
  [--backend cpu|gpu|auto|ref] [--out DIR] [--sweep domain-shift] [--config BASE.json]
  --config: a JSON object of ExperimentConfig fields laid over the preset's base config (e.g. {"epochs": 8, "width": 16})`

const spec = {
  preset: flag.oneOf(presetNames),
  seeds: flag.positiveInt,
  backend: flag.oneOf(['cpu', 'gpu', 'auto', 'ref'] as const),
  out: flag.string,
  sweep: flag.oneOf(['domain-shift'] as const),
  config: flag.string,
}

const fail = (msg: string): never => {
  process.stderr.write(`paper: ${msg}\n`)
  process.exit(2)
}

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2)
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    console.log(usage)
    process.exit(argv.length === 0 ? 2 : 0)
  }
  const [name, ...rest] = argv
  const names: readonly string[] = [...experimentNames, 'all']
  if (!names.includes(name)) fail(`unknown experiment "${name}" (expected one of ${names.join(', ')})`)
  const f = parseFlags(rest, spec)
  if (isLeft(f)) fail(f.left[0])
  const flags = isLeft(f) ? {} : f.right
  const p = paperPresets[flags.preset ?? 'default']
  let base = p.base
  if (flags.config) {
    const r = readExperimentConfig(flags.config, base)
    if (!r.ok) fail(r.errors[0])
    else base = r.config
  }
  const preset = { ...p, base: { ...base, backend: flags.backend ?? base.backend } }
  const seeds = flags.seeds ?? preset.seeds
  const out = flags.out ?? 'reports'
  const todo: ExperimentName[] = name === 'all' ? [...allOrder] : [name as ExperimentName]
  // refuse an unwritable output before any training starts
  for (const n of todo)
    try {
      checkWritable(join(out, n))
    } catch (e) {
      fail((e as Error).message)
    }
  const backend = await backendFor(preset.base.backend)
  const started = performance.now()
  const dataCache: ExperimentData[] = []
  for (const n of todo) {
    const dir = join(out, n)
    const logPath = join(dir, 'log.jsonl')
    writeFileSync(logPath, '')
    const log = jsonlLog(logPath)
    console.log(`paper: ${n} (preset ${preset.name}, ${seeds} seed(s), backend ${preset.base.backend}) → ${dir}`)
    const report = await paperExperiments[n]({
      preset,
      seeds,
      backend,
      log,
      onProgress: progressLines((l) => console.log(l), 5),
      onPhase: phaseProgress(),
      dataCache,
      ...(flags.sweep || (name === 'all' && n === 'table4') ? { sweep: 'domain-shift' as const } : {}),
    })
    const files = writeReport(dir, report)
    console.log(`paper: ${n} done in ${report.seconds.toFixed(0)} s; wrote ${files.length + 1} files to ${dir}`)
    writeIndex(out, allOrder)
  }
  console.log(`paper: total ${((performance.now() - started) / 1000).toFixed(0)} s`)
}

main().catch((e) => {
  process.stderr.write(`paper: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exit(1)
})
