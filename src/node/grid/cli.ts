/** `softshare grid submit|worker|status|report`: flag parsing and the four commands over queue.ts and worker.ts. */
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { expandGrid, GridError, isPlanned, parseSeeds, parseSweep, settlePlan } from './expand.ts'
import type { GridLibrary, GridParams } from './library.ts'
import { collectRuns, DEFAULT_QUEUE, formatStatus, gridStatus, loadPlans, openQueue, savePlan, submitRuns, submittedRuns } from './queue.ts'
import { openRedis, probeRedis, showUrl } from './redis.ts'
import { runLocal, runPlannedLocal, startWorker, writeReportFiles } from './worker.ts'

export const GRID_USAGE = `usage:
  softshare grid submit <experiment> --redis URL [--preset P] [--seeds N|0,1,2] [--sweep name=v1,v2 …] [--attempts 3]
      (table4, table6, fig3: the runs of \`npm run paper -- <experiment>\`; table4 --sweep domain-shift adds its shift
      runs; the runs at table4's chosen γ are submitted by the workers as the γ sweep finishes)
  softshare grid worker --redis URL --out DIR [--concurrency 1] [--backend cpu|gpu|auto|ref]
  softshare grid status --redis URL [--json]
  softshare grid report <experiment> --redis URL --out DIR
  softshare grid local <experiment> --out DIR [--preset P] [--seeds …] [--sweep …]   (the same grid on this machine, no Redis)
common: [--queue NAME] (default ${DEFAULT_QUEUE}) [--library MODULE] (a module exporting gridLibrary; default: softshare's experiments)`

const OPTIONS = {
  redis: { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  seeds: { type: 'string' },
  sweep: { type: 'string', multiple: true },
  attempts: { type: 'string' },
  concurrency: { type: 'string' },
  backend: { type: 'string' },
  queue: { type: 'string' },
  library: { type: 'string' },
  json: { type: 'boolean' },
  'lock-ms': { type: 'string' },
  'stalled-ms': { type: 'string' },
  'max-stalled': { type: 'string' },
  'retry-base-ms': { type: 'string' },
  'retry-max-ms': { type: 'string' },
} as const

const int = (name: string, text: string | undefined, dflt: number, min: number): number => {
  if (text === undefined) return dflt
  if (!/^\d+$/.test(text) || Number(text) < min) throw new GridError(`--${name}: expected an integer ≥ ${min}, got "${text}"`)
  return Number(text)
}

const need = (name: string, v: string | undefined, cmd: string): string => {
  if (v === undefined || v === '') throw new GridError(`grid ${cmd}: --${name} is required`)
  return v
}

/** Loads `--library MODULE` (export `gridLibrary`) or softshare's own experiments. */
export const loadLibrary = async (module: string | undefined, defaultLibrary: () => Promise<GridLibrary>): Promise<GridLibrary> => {
  if (module === undefined) return defaultLibrary()
  const url = pathToFileURL(isAbsolute(module) ? module : resolve(module)).href
  let mod: { gridLibrary?: GridLibrary }
  try {
    mod = (await import(url)) as { gridLibrary?: GridLibrary }
  } catch (e) {
    throw new GridError(`--library: cannot load ${module}: ${(e as Error).message}`)
  }
  if (!mod.gridLibrary || typeof mod.gridLibrary.run !== 'function')
    throw new GridError(`--library: ${module} does not export a gridLibrary`)
  return mod.gridLibrary
}

/** Runs one `grid` command; resolves to the exit code (2: bad input, 1: Redis or run failure). */
export const gridMain = async (
  argv: readonly string[],
  defaultLibrary: () => Promise<GridLibrary>,
  out: (line: string) => void = console.log,
  err: (line: string) => void = (l) => console.error(l),
): Promise<number> => {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === 'help') {
    out(GRID_USAGE)
    return cmd === undefined ? 2 : 0
  }
  try {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>
    try {
      parsed = parseArgs({ args: [...rest], options: OPTIONS, allowPositionals: true, strict: true })
    } catch (e) {
      throw new GridError(`grid ${cmd}: ${(e as Error).message}`)
    }
    const { values: v, positionals } = parsed
    const queueName = v.queue ?? DEFAULT_QUEUE
    const experimentArg = (): string => {
      if (positionals.length !== 1)
        throw new GridError(`grid ${cmd}: expected one experiment name, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`)
      return positionals[0]
    }
    const params = (): GridParams => ({
      preset: v.preset,
      seeds: v.seeds === undefined ? undefined : parseSeeds(v.seeds),
      sweeps: v.sweep ?? [],
    })
    const planned = async () => {
      const lib = await loadLibrary(v.library, defaultLibrary)
      const experiment = experimentArg()
      return isPlanned(lib, experiment) ? { lib, experiment } : undefined
    }
    const grid = async () => {
      const lib = await loadLibrary(v.library, defaultLibrary)
      const runs = expandGrid(lib, experimentArg(), {
        preset: v.preset,
        seeds: parseSeeds(v.seeds ?? '1'),
        sweeps: (v.sweep ?? []).map(parseSweep),
      })
      return { lib, runs }
    }
    switch (cmd) {
      case 'submit': {
        const url = need('redis', v.redis, cmd)
        const plan = await planned()
        // a bad config is refused here, before Redis is touched
        const listed = plan ? (await settlePlan(plan.lib, plan.experiment, params(), async () => [])).runs : (await grid()).runs
        const attempts = int('attempts', v.attempts, 3, 1)
        const retry = { attempts, backoffMs: int('retry-base-ms', v['retry-base-ms'], 5000, 1) }
        await probeRedis(url)
        const connection = openRedis(url, err)
        try {
          const queue = openQueue(connection, queueName)
          if (plan) await savePlan(connection, queueName, plan.experiment, params(), retry)
          // a planned grid: every run its finished runs let us name now (the workers submit the rest as results arrive)
          const runs = plan ? (await settlePlan(plan.lib, plan.experiment, params(), (r) => collectRuns(queue, r))).runs : listed
          const r = await submitRuns(queue, connection, runs, retry)
          await queue.close()
          out(`submitted ${r.added.length} new run(s) of ${runs.length} to queue "${queueName}" at ${showUrl(url)}`)
          if (r.existing.length > 0) {
            const by = new Map<string, number>()
            for (const e of r.existing) by.set(e.state, (by.get(e.state) ?? 0) + 1)
            out(`already queued (not added again): ${[...by].map(([s, n]) => `${n} ${s}`).join(', ')}`)
          }
        } finally {
          connection.disconnect()
        }
        return 0
      }
      case 'worker': {
        const url = need('redis', v.redis, cmd)
        const outDir = resolve(need('out', v.out, cmd))
        const lib = await loadLibrary(v.library, defaultLibrary)
        const w = await startWorker(lib, {
          url,
          queue: queueName,
          out: outDir,
          concurrency: int('concurrency', v.concurrency, 1, 1),
          backend: v.backend,
          lockMs: int('lock-ms', v['lock-ms'], 120_000, 100),
          stalledMs: int('stalled-ms', v['stalled-ms'], 30_000, 100),
          maxStalled: int('max-stalled', v['max-stalled'], 3, 0),
          backoff: { base: int('retry-base-ms', v['retry-base-ms'], 500, 1), max: int('retry-max-ms', v['retry-max-ms'], 30_000, 1) },
          log: (line) => err(`grid worker ${process.pid}: ${line}`),
        })
        // on SIGINT/SIGTERM stop taking jobs and leave the running one to be taken over and resumed elsewhere
        await new Promise<void>((res) => {
          const stop = () => res()
          process.once('SIGINT', stop)
          process.once('SIGTERM', stop)
        })
        await w.close(true)
        // a run still in progress would keep this process alive without a lock on its job: exit now; its files are
        // written atomically, and the job is taken over and resumed once its lock expires
        return process.exit(0)
      }
      case 'status': {
        const url = need('redis', v.redis, cmd)
        await probeRedis(url)
        const connection = openRedis(url, err)
        try {
          const queue = openQueue(connection, queueName)
          const s = await gridStatus(queue)
          await queue.close()
          out(v.json ? JSON.stringify(s) : formatStatus(s, `queue "${queueName}" at ${showUrl(url)}`))
        } finally {
          connection.disconnect()
        }
        return 0
      }
      case 'report': {
        const url = need('redis', v.redis, cmd)
        const outDir = resolve(need('out', v.out, cmd))
        const experiment = experimentArg()
        const lib = await loadLibrary(v.library, defaultLibrary)
        await probeRedis(url)
        const connection = openRedis(url, err)
        try {
          const queue = openQueue(connection, queueName)
          const flagged = v.preset !== undefined || v.seeds !== undefined || v.sweep !== undefined
          let rows: readonly Awaited<ReturnType<typeof collectRuns>>[number][]
          let planParams: GridParams | undefined
          if (isPlanned(lib, experiment)) {
            // the grid named by the flags, else the one submitted last
            planParams = flagged ? params() : (await loadPlans(connection, queueName, experiment)).at(-1)?.params
            if (planParams === undefined)
              throw new GridError(`grid report: no grid of "${experiment}" was submitted to queue "${queueName}"`)
            rows = (await settlePlan(lib, experiment, planParams, (r) => collectRuns(queue, r))).rows
          } else {
            const runs = flagged ? (await grid()).runs : await submittedRuns(queue, connection, experiment)
            if (runs.length === 0) throw new GridError(`grid report: no runs of "${experiment}" were submitted to queue "${queueName}"`)
            rows = await collectRuns(queue, runs)
          }
          await queue.close()
          const files = writeReportFiles(outDir, experiment, lib.report(experiment, rows, planParams))
          const missing = rows.filter((r) => r.result === undefined)
          out(`${rows.length - missing.length} of ${rows.length} runs finished; wrote ${files.join(', ')}`)
          for (const m of missing) out(`missing: ${m.id} ${m.spec.label} seed ${m.spec.seed}: ${m.missing}`)
        } finally {
          connection.disconnect()
        }
        return 0
      }
      case 'local': {
        const outDir = resolve(need('out', v.out, cmd))
        const plan = await planned()
        if (plan) {
          const { rows } = await runPlannedLocal(plan.lib, plan.experiment, params(), outDir, v.backend)
          const files = writeReportFiles(outDir, plan.experiment, plan.lib.report(plan.experiment, rows, params()))
          out(`ran ${rows.length} run(s); wrote ${files.join(', ')}`)
          return 0
        }
        const { lib, runs } = await grid()
        const rows = await runLocal(lib, runs, outDir, v.backend)
        out(
          `ran ${rows.length} run(s); wrote ${writeReportFiles(outDir, runs[0].experiment, lib.report(runs[0].experiment, rows)).join(', ')}`,
        )
        return 0
      }
      default:
        throw new GridError(`grid: unknown command "${cmd}"; expected submit, worker, status, report or local`)
    }
  } catch (e) {
    if (e instanceof GridError) {
      err(e.message)
      return e.message.startsWith('cannot reach Redis') ? 1 : 2
    }
    throw e
  }
}
