/**
 * Run directories: every run writes `OUT/<run-id>/` with `config.json`, `metrics.jsonl`, `checkpoints/` and a
 * TensorBoard event file, under a lock file that refuses a second writer. Checkpoints hold the whole training
 * state and the loop's cursor, so `fitRun(…, { resume: dir })` continues a killed run and reaches the same
 * weights and metrics, bit for bit, as an uninterrupted one. Everything is checked before the first step.
 */
import {
  appendFileSync,
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { hostname } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import type { EpochLog, FitConfig, FitCursor } from '../train/loop.ts'
import { fit } from '../train/loop.ts'
import { readbackState } from '../train/step.ts'
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts'
import { alive, atomicWrite, fsyncDir } from './safetensors.ts'
import { type EventWriter, eventWriter } from './tfevents.ts'

/** Where and how a run writes its directory. */
export interface RunOptions {
  /** Parent folder: the run goes to `OUT/<run-id>/` (created, never overwritten). */
  readonly out?: string
  /** A readable part of the run id (`20261130-101500-laf`). */
  readonly name?: string
  /** The run's configuration, saved as config.json (JSON values only). */
  readonly config?: unknown
  /** A run directory to continue from its latest checkpoint instead of starting a new run. */
  readonly resume?: string
  /** Also checkpoint every N steps (default: only at the end of each epoch). */
  readonly everySteps?: number
  /** How many step checkpoints to keep (default 3; `best.safetensors` is kept besides). */
  readonly keep?: number
  /** Keep `best.safetensors` by this epoch metric (train or test). */
  readonly best?: { readonly metric: string; readonly mode?: 'min' | 'max' }
  /** Write a TensorBoard event file (default true). */
  readonly tensorboard?: boolean
}

/** What a checkpoint of a run holds besides the training state. */
interface Saved<St> {
  readonly state: St
  readonly cursor: FitCursor
  readonly best: { readonly value: number; readonly step: number } | null
}

/** An open run directory (locked until `close`). */
export interface RunDir<St = unknown> {
  readonly dir: string
  readonly id: string
  /** The config saved in config.json (for a resumed run, the original one). */
  readonly config: unknown
  /** The latest checkpoint of a resumed run. */
  readonly resumed?: Saved<St> & { readonly file: string }
  log(record: EpochLog): void
  /** Saves `checkpoints/step-N.safetensors`, updates `best`, prunes to the last `keep`. */
  checkpoint(state: St, cursor: FitCursor, record?: EpochLog): string
  close(): void
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
const ckptName = (step: number): string => `step-${String(step).padStart(8, '0')}.safetensors`
const stepOf = (s: unknown): number => {
  const v = (s as { step?: unknown } | null)?.step
  return typeof v === 'number' ? v : 0
}

const describe = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EROFS: 'read-only file system',
    ENOTDIR: 'a path component is a file, not a folder',
    EEXIST: 'already exists',
    ENOENT: 'no such file or folder',
    ENOSPC: 'no space left on the device',
  }
  return err.code ? `${err.code} (${why[err.code] ?? err.message})` : String(err.message ?? e)
}

/**
 * `mkdir -p` one level at a time: Node's recursive mkdir loops forever on paths such as /proc/x, where the
 * parent exists but refuses new entries with ENOENT.
 */
export const makeDirs = (dir: string): void => {
  const parent = dirname(dir)
  try {
    if (statSync(dir).isDirectory()) return
    throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  if (parent !== dir) makeDirs(parent)
  try {
    mkdirSync(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
}

/** Writes `text` to `path` atomically. */
const writeText = (path: string, text: string): void => atomicWrite(path, (w) => w(Buffer.from(text, 'utf8')))

/** The first key path where two JSON values differ, for config mismatch messages. */
const firstDifference = (a: unknown, b: unknown, path = ''): string | undefined => {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k)
      if (d) return d
    }
  }
  return `${path || '<root>'}: ${JSON.stringify(a)} then, ${JSON.stringify(b)} now`
}

/** Takes `dir/lock`, replacing a lock whose process is gone (a killed run); refuses a live one by name. */
const takeLock = (dir: string): string => {
  const path = join(dir, 'lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }))
      closeSync(fd)
      return path
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`openRun: cannot create the lock file ${path}: ${describe(e)}`)
    }
    let holder: { pid?: number; host?: string; since?: string } = {}
    try {
      holder = JSON.parse(readFileSync(path, 'utf8'))
    } catch {
      // a lock torn by a crash between create and write: treat as stale
    }
    const sameHost = holder.host === undefined || holder.host === hostname()
    if (typeof holder.pid === 'number' && holder.pid !== process.pid && (!sameHost || alive(holder.pid)))
      throw new Error(
        `openRun: ${dir} is in use by process ${holder.pid} on ${holder.host ?? 'this machine'} (since ${holder.since ?? '?'}); ` +
          `two runs cannot write one directory. Wait for it, or use another --out (lock file: ${path})`,
      )
    if (holder.pid === process.pid) throw new Error(`openRun: ${dir} is already open in this process (lock file: ${path})`)
    unlinkSync(path) // stale: its writer is gone
  }
  throw new Error(`openRun: could not take the lock ${path}`)
}

const probeWritable = (dir: string, what = 'openRun'): void => {
  const probe = join(dir, `.write-test-${process.pid}`)
  try {
    writeText(probe, 'ok')
    unlinkSync(probe)
  } catch (e) {
    throw new Error(`${what}: cannot write in ${dir}: ${describe(e)}`)
  }
}

/** Creates `out` (with parents) and checks that files can be written there; throws naming `flag` and the reason. */
export const prepareOut = (out: string, flag = '--out'): string => {
  const dir = resolve(out)
  try {
    makeDirs(dir)
  } catch (e) {
    throw new Error(`${flag} ${out}: cannot create the folder: ${describe(e)}`)
  }
  probeWritable(dir, `${flag} ${out}`)
  return dir
}

/** Lists `dir/checkpoints/step-*.safetensors`, newest first. */
export const listCheckpoints = (dir: string): string[] => {
  let names: string[] = []
  try {
    names = readdirSync(join(dir, 'checkpoints'))
  } catch {
    return []
  }
  return names
    .filter((n) => /^step-\d+\.safetensors$/.test(n))
    .sort()
    .reverse()
    .map((n) => join(dir, 'checkpoints', n))
}

/**
 * Opens a new run directory `OUT/<stamp>-<name>/` (or, with `resume`, an existing one and its latest readable
 * checkpoint): validates and creates every output, takes the lock, writes config.json.
 */
export const openRun = <St = unknown>(o: RunOptions): RunDir<St> => {
  if (o.everySteps !== undefined && !(Number.isInteger(o.everySteps) && o.everySteps >= 0))
    throw new RangeError(`openRun: everySteps must be a non-negative integer, got ${o.everySteps}`)
  if (o.keep !== undefined && !(Number.isInteger(o.keep) && o.keep >= 1))
    throw new RangeError(`openRun: keep must be a positive integer, got ${o.keep}`)
  let dir: string
  let config: unknown = o.config ?? null
  let resumed: RunDir<St>['resumed']
  if (o.resume !== undefined) {
    dir = resolve(o.resume)
    let stored: unknown
    try {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' })
      stored = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
    } catch (e) {
      throw new Error(`openRun: --resume ${o.resume}: not a run directory (cannot read its config.json: ${describe(e)})`)
    }
    if (o.config !== undefined) {
      const d = firstDifference(stored, o.config)
      if (d) throw new Error(`openRun: --resume ${o.resume}: the run was started with a different config (${d})`)
    }
    config = stored
  } else {
    if (o.out === undefined) throw new TypeError('openRun: give out (a parent folder for a new run) or resume (a run directory)')
    const out = prepareOut(o.out, 'openRun: --out')
    const base = `${stamp(new Date())}${o.name ? `-${o.name.trim().replace(/[^\w.+-]+/g, '_')}` : ''}`
    for (let i = 1; ; i++) {
      dir = join(out, i === 1 ? base : `${base}-${i}`)
      try {
        mkdirSync(dir) // not recursive: EEXIST means another run took the name
        break
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i > 1000) throw new Error(`openRun: cannot create ${dir}: ${describe(e)}`)
      }
    }
  }
  const lock = takeLock(dir)
  const release = () => {
    try {
      unlinkSync(lock)
    } catch {
      // already gone
    }
  }
  let events: EventWriter | undefined
  try {
    probeWritable(dir)
    makeDirs(join(dir, 'checkpoints'))
    if (o.resume === undefined) writeText(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`)
    else {
      const files = listCheckpoints(dir)
      const problems: string[] = []
      for (const file of files) {
        try {
          const { tree } = loadCheckpoint(file)
          resumed = { ...(tree as unknown as Saved<St>), file }
          break
        } catch (e) {
          problems.push((e as Error).message)
        }
      }
      if (files.length && !resumed) throw new Error(`openRun: --resume ${o.resume}: no readable checkpoint: ${problems.join('; ')}`)
      // records past the checkpoint are redone by the resumed run
      const step = resumed ? stepOf(resumed.state) : 0
      const metrics = join(dir, 'metrics.jsonl')
      let lines: string[] = []
      try {
        lines = readFileSync(metrics, 'utf8').split('\n').filter(Boolean)
      } catch {
        // no records yet
      }
      const kept = lines.filter((l) => {
        try {
          return (JSON.parse(l) as { step: number }).step <= step
        } catch {
          return false
        }
      })
      writeText(metrics, kept.map((l) => `${l}\n`).join(''))
    }
    appendFileSync(join(dir, 'metrics.jsonl'), '')
    if (o.tensorboard !== false) events = eventWriter(dir)
  } catch (e) {
    release()
    throw e
  }
  let best = resumed?.best ?? null
  const keep = o.keep ?? 3
  const id = basename(dir)
  return {
    dir,
    id,
    config,
    ...(resumed ? { resumed } : {}),
    log: (r) => {
      appendFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ ...r, run: id, time: new Date().toISOString() })}\n`)
      events?.scalars(r.step, {
        ...Object.fromEntries(Object.entries(r.train).map(([k, v]) => [`train/${k}`, v])),
        ...Object.fromEntries(Object.entries(r.test).map(([k, v]) => [`test/${k}`, v])),
        ...(r.lr === undefined ? {} : { lr: r.lr }),
        epoch: r.epoch,
      })
    },
    checkpoint: (state, cursor, record) => {
      const step = stepOf(state)
      let improved = false
      const v = record && o.best ? record.metrics[o.best.metric] : undefined
      if (o.best && record && v === undefined)
        throw new Error(
          `run ${id}: best metric "${o.best.metric}" is not among the epoch metrics (${Object.keys(record.metrics).join(', ')})`,
        )
      if (v !== undefined && Number.isFinite(v) && (best === null || (o.best?.mode === 'max' ? v > best.value : v < best.value))) {
        best = { value: v, step }
        improved = true
      }
      const file = join(dir, 'checkpoints', ckptName(step))
      const saved: Saved<St> = { state, cursor, best }
      saveCheckpoint(file, saved, { run: id, step, epoch: cursor.epoch, batch: cursor.batch })
      if (improved) {
        // a hard link: best survives pruning without a second copy, and the rename is atomic
        const tmp = join(dir, `.best.safetensors.tmp-${process.pid}-link`)
        try {
          unlinkSync(tmp)
        } catch {
          // none left over
        }
        linkSync(file, tmp)
        renameSync(tmp, join(dir, 'best.safetensors'))
        fsyncDir(dir)
      }
      for (const old of listCheckpoints(dir).slice(keep)) unlinkSync(old)
      return file
    },
    close: () => {
      events?.close()
      release()
    },
  }
}

/**
 * `fit` inside a run directory: checkpoints at every epoch end (and every `everySteps` steps), `best` by a
 * metric, metrics.jsonl and TensorBoard scalars; with `resume`, starts from the directory's latest checkpoint.
 */
export const fitRun = async <St, B>(
  initial: St,
  c: FitConfig<St, B>,
  o: RunOptions,
): Promise<{ state: St; history: FitCursor['history']; dir: string; id: string }> => {
  const run = openRun<St>(o)
  try {
    const every = o.everySteps ?? 0
    const userLog = c.log
    const { state, history } = await fit(run.resumed?.state ?? initial, {
      ...c,
      label: c.label ?? o.name,
      ...(run.resumed ? { resume: run.resumed.cursor } : {}),
      log: (r) => {
        run.log(r)
        userLog?.(r)
      },
      afterStep: async (s, cursor) => {
        if (every > 0 && stepOf(s) % every === 0) run.checkpoint(await readbackState(s), cursor)
        await c.afterStep?.(s, cursor)
      },
      afterEpoch: async (s, record, cursor) => {
        run.checkpoint(s, cursor, record)
        await c.afterEpoch?.(s, record, cursor)
      },
    })
    return { state, history, dir: run.dir, id: run.id }
  } finally {
    run.close()
  }
}
