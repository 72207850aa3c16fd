/**
 * A worker SIGKILLed in the middle of a real experiment run (`runExperiment` with run directories and per-epoch
 * safetensors checkpoints): the other worker takes the job over, resumes from the last checkpoint, and the
 * report equals the one-machine report (resume is exact); nothing finishes twice; every checkpoint left loads.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadCheckpoint } from '../../src/node/checkpoint.ts'
import { gridMain } from '../../src/node/grid/cli.ts'
import { paperGridLibrary } from '../../src/node/grid/paper.ts'
import { EVENTS_FILE } from '../../src/node/grid/worker.ts'
import { haveRedis, spawnWorker, startRedis, until } from './redis.ts'

const grid = async (...args: string[]) => {
  const out: string[] = []
  const err: string[] = []
  const code = await gridMain(
    args,
    async () => paperGridLibrary,
    (l) => out.push(l),
    (l) => err.push(l),
  )
  return { code, out: out.join('\n'), err: err.join('\n') }
}

/** Every `.safetensors` file under `dir`. */
const checkpoints = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.safetensors'))
        .map((f) => join(dir, f))
    : []

test('grid: SIGKILL mid-run on the experiment library: taken over, resumed from the checkpoint, same report as one machine', async (t) => {
  if (!haveRedis(t)) return
  const redis = await startRedis()
  const out = mkdtempSync(join(tmpdir(), 'softshare-grid-'))
  const local = mkdtempSync(join(tmpdir(), 'softshare-local-'))
  const timing = ['--lock-ms', '4000', '--stalled-ms', '1000']
  const workers = [spawnWorker(redis.url, out, timing, null), spawnWorker(redis.url, out, timing, null)]
  try {
    // one seed, 3 runs of 3 epochs × 4 steps: long enough to be killed between checkpoints
    const flags = ['quickstart', '--preset', 'smoke', '--seeds', '1', '--sweep', 'train=64', '--sweep', 'epochs=3']
    await until('two workers listening', () => workers.every((w) => w.log().includes('worker on queue')), 60_000)
    assert.equal((await grid('submit', ...flags, '--redis', redis.url)).code, 0)
    // the first run directory with a checkpoint: kill the worker that holds it
    let victimDir = ''
    await until(
      'a first checkpoint',
      () => {
        if (!existsSync(join(out, 'runs'))) return false
        victimDir = readdirSync(join(out, 'runs')).find((id) => checkpoints(join(out, 'runs', id)).length > 0) ?? ''
        return victimDir !== ''
      },
      120_000,
      50,
    )
    const dir = join(out, 'runs', victimDir)
    const events = () =>
      readFileSync(join(dir, EVENTS_FILE), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; pid: number })
    const victim = workers.find((w) => w.proc.pid === events()[0].pid)!
    victim.proc.kill('SIGKILL')
    t.diagnostic(`killed worker ${victim.proc.pid} with ${checkpoints(dir).length} checkpoint(s) in ${victimDir}`)
    await until(
      '3 completed runs',
      async () =>
        (JSON.parse((await grid('status', '--redis', redis.url, '--json')).out) as { counts: { completed: number } }).counts.completed ===
        3,
      300_000,
      250,
    )
    const survivor = workers.find((w) => w !== victim)!
    assert.deepEqual(
      events().map((e) => [e.event, e.pid === victim.proc.pid ? 'victim' : 'survivor']),
      [
        ['start', 'victim'],
        ['start', 'survivor'],
        ['done', 'survivor'],
      ],
    )
    assert.match(survivor.log(), new RegExp(`resumed ${victimDir} from checkpoint step-\\d+`))
    for (const id of readdirSync(join(out, 'runs')))
      assert.equal(
        events.length >= 0 && readFileSync(join(out, 'runs', id, EVENTS_FILE), 'utf8').match(/"done"/g)?.length,
        1,
        `run ${id} finished once`,
      )
    for (const f of checkpoints(join(out, 'runs'))) loadCheckpoint(f) // throws on a torn or corrupted file (sha256 checked)
    assert.match((await grid('report', 'quickstart', '--redis', redis.url, '--out', out)).out, /3 of 3 runs finished/)
    assert.equal((await grid('local', ...flags, '--out', local)).code, 0)
    for (const f of ['report.md', 'results.json'])
      assert.equal(
        readFileSync(join(out, 'quickstart', f), 'utf8'),
        readFileSync(join(local, 'quickstart', f), 'utf8'),
        `${f} differs from one machine's`,
      )
  } finally {
    await Promise.all(workers.map((w) => w.stop()))
    await redis.stop()
    rmSync(out, { recursive: true, force: true })
    rmSync(local, { recursive: true, force: true })
  }
})
