/**
 * The grid end to end on a real redis-server: a 6-run smoke grid over 2 worker processes gives the same report
 * as one machine, each run finishing once; resubmitting adds nothing; a bad config is refused at submit time;
 * a diverging run is failed once, with its message, not retried.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { expandGrid, parseSeeds } from '../../src/node/grid/expand.ts'
import { gridMain } from '../../src/node/grid/cli.ts'
import type { GridLibrary } from '../../src/node/grid/library.ts'
import { EVENTS_FILE, runLocal } from '../../src/node/grid/worker.ts'
import { haveRedis, spawnWorker, startRedis, until } from './redis.ts'
import { gridLibrary } from './toy-library.ts'

const noDefault = async (): Promise<GridLibrary> => {
  throw new Error('the tests pass --library')
}

/** Runs `softshare grid …` in this process; returns exit code and output lines. */
const grid = async (...args: string[]) => {
  const out: string[] = []
  const err: string[] = []
  const code = await gridMain(
    [...args, '--library', 'test/grid/toy-library.ts'],
    noDefault,
    (l) => out.push(l),
    (l) => err.push(l),
  )
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const status = async (url: string) =>
  JSON.parse((await grid('status', '--redis', url, '--json')).out) as {
    counts: Record<string, number>
    failed: { error: string; attempts: number }[]
  }

const events = (out: string) =>
  readdirSync(join(out, 'runs')).map((id) => ({
    id,
    lines: readFileSync(join(out, 'runs', id, EVENTS_FILE), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; pid: number }),
  }))

test('grid: 6 runs over 2 workers = the one-machine report; each run once; resubmit adds nothing; bad config refused', async (t) => {
  if (!haveRedis(t)) return
  const redis = await startRedis()
  const out = mkdtempSync(join(tmpdir(), 'softshare-grid-'))
  const workers = [spawnWorker(redis.url, out), spawnWorker(redis.url, out)]
  try {
    await until('two workers listening', () => workers.every((w) => w.log().includes('worker on queue')), 60_000)
    const t0 = Date.now()
    const sub = await grid('submit', 'toy', '--seeds', '2', '--redis', redis.url)
    assert.equal(sub.code, 0, sub.err)
    assert.match(sub.out, /submitted 6 new run\(s\) of 6/)
    await until('6 completed runs', async () => (await status(redis.url)).counts.completed === 6, 120_000, 200)
    t.diagnostic(`smoke grid, 2 workers: ${Date.now() - t0} ms from submit to 6 completed`)

    const rep = await grid('report', 'toy', '--redis', redis.url, '--out', out)
    assert.equal(rep.code, 0, rep.err)
    assert.match(rep.out, /6 of 6 runs finished/)

    // the same configs on one machine, in this process
    const local = mkdtempSync(join(tmpdir(), 'softshare-local-'))
    t.after(() => rmSync(local, { recursive: true, force: true }))
    const runs = expandGrid(gridLibrary, 'toy', { seeds: parseSeeds('2'), sweeps: [] })
    const files = gridLibrary.report('toy', await runLocal(gridLibrary, runs, local))
    for (const [name, text] of Object.entries(files))
      assert.equal(readFileSync(join(out, 'toy', name), 'utf8'), text, `${name} differs from one machine's`)
    assert.doesNotMatch(String(files['report.md']), /missing/)

    // each run started once and finished once, and both workers took runs
    const ev = events(out)
    assert.equal(ev.length, 6)
    for (const r of ev)
      assert.deepEqual(
        r.lines.map((l) => l.event),
        ['start', 'done'],
        `run ${r.id}`,
      )
    const pids = new Set(ev.map((r) => r.lines[0].pid))
    assert.deepEqual(pids, new Set(workers.map((w) => w.proc.pid)), 'both workers ran jobs')

    const again = await grid('submit', 'toy', '--seeds', '2', '--redis', redis.url)
    assert.equal(again.code, 0, again.err)
    assert.match(again.out, /submitted 0 new run\(s\) of 6/)
    assert.match(again.out, /already queued \(not added again\): 6 completed/)

    const bad = await grid('submit', 'toy', '--seeds', '2', '--sweep', 'rate=0.1,-3', '--redis', redis.url)
    assert.equal(bad.code, 2)
    assert.match(bad.err, /run "rate 0\.05 rate=-3": rate: expected a number in \(0, 100\], got -3/)
    const s = await status(redis.url)
    assert.equal(s.counts.waiting + s.counts.active + s.counts.delayed, 0, 'nothing was queued by the refused grid')

    // a run that diverges fails once with its message: no retries of a deterministic failure
    const nan = await grid('submit', 'toy', '--preset', 'diverge', '--sweep', 'stepMs=0,1,2', '--redis', redis.url, '--attempts', '3')
    assert.match(nan.out, /submitted 3 new run\(s\)/, nan.err)
    await until('3 failed runs', async () => (await status(redis.url)).counts.failed === 3, 60_000, 200)
    const f = await status(redis.url)
    assert.equal(f.failed.length, 3)
    for (const j of f.failed) {
      assert.match(j.error, /toy: loss diverged to .* at epoch \d+ \(rate 60\)/)
      assert.equal(j.attempts, 1)
    }
    // the report lists what is missing and why, not silently dropping it
    const partial = await grid('report', 'toy', '--redis', redis.url, '--out', out, '--preset', 'diverge', '--sweep', 'stepMs=0,1,2,3')
    assert.match(partial.out, /0 of 4 runs finished/)
    assert.match(partial.out, /missing: toy-[0-9a-f]{16} diverge stepMs=1 seed 0: failed: toy: loss diverged/)
    assert.match(partial.out, /missing: toy-[0-9a-f]{16} diverge stepMs=3 seed 0: not submitted/)
    assert.match(readFileSync(join(out, 'toy', 'report.md'), 'utf8'), /\| diverge stepMs=2 \| 0 \| missing: failed: toy: loss diverged/)
  } finally {
    await Promise.all(workers.map((w) => w.stop()))
    await redis.stop()
    rmSync(out, { recursive: true, force: true })
  }
})
