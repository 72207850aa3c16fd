/**
 * The 6-run smoke grid on softshare's own experiments (quickstart runs × 2 seeds, `runExperiment` at the smoke
 * preset) over 2 worker processes and a real redis-server: every run finishes once, and the report and
 * results.json equal those `grid local` computes on one machine for the same configs.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
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

test('grid: 6 smoke runs of the experiment library over 2 workers give the one-machine report, each run once', async (t) => {
  if (!haveRedis(t)) return
  const redis = await startRedis()
  const out = mkdtempSync(join(tmpdir(), 'softshare-grid-'))
  const local = mkdtempSync(join(tmpdir(), 'softshare-local-'))
  // real runs generate data synchronously: a long lock, so a busy event loop is never mistaken for a dead worker
  const slowLock = ['--lock-ms', '20000', '--stalled-ms', '5000']
  const workers = [spawnWorker(redis.url, out, slowLock, null), spawnWorker(redis.url, out, slowLock, null)]
  try {
    const flags = ['quickstart', '--preset', 'smoke', '--seeds', '2']
    await until('two workers listening', () => workers.every((w) => w.log().includes('worker on queue')), 60_000)
    const t0 = Date.now()
    const sub = await grid('submit', ...flags, '--redis', redis.url)
    assert.match(sub.out, /submitted 6 new run\(s\) of 6/, sub.err)
    await until(
      '6 completed runs',
      async () =>
        (JSON.parse((await grid('status', '--redis', redis.url, '--json')).out) as { counts: { completed: number } }).counts.completed ===
        6,
      300_000,
      250,
    )
    t.diagnostic(`smoke grid (experiment library), 2 workers: ${Date.now() - t0} ms from submit to 6 completed`)
    const rep = await grid('report', 'quickstart', '--redis', redis.url, '--out', out)
    assert.match(rep.out, /6 of 6 runs finished/, rep.err)
    assert.equal((await grid('local', ...flags, '--out', local)).code, 0)
    for (const f of ['report.md', 'results.json'])
      assert.equal(
        readFileSync(join(out, 'quickstart', f), 'utf8'),
        readFileSync(join(local, 'quickstart', f), 'utf8'),
        `${f} differs from one machine's`,
      )
    const results = JSON.parse(readFileSync(join(out, 'quickstart', 'results.json'), 'utf8')) as {
      runs: { run: string; result: { acc: number } }[]
    }
    assert.deepEqual(results.runs.map((r) => r.run).sort(), ['laf', 'laf', 'laf+ada', 'laf+ada', 'single', 'single'])
    assert.ok(results.runs.every((r) => Number.isFinite(r.result.acc)))
    for (const id of readdirSync(join(out, 'runs'))) {
      const ev = readFileSync(join(out, 'runs', id, EVENTS_FILE), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).event)
      assert.deepEqual(ev, ['start', 'done'], `run ${id} ran once`)
    }
    const again = await grid('submit', ...flags, '--redis', redis.url)
    assert.match(again.out, /submitted 0 new run\(s\) of 6/)
    const bad = await grid('submit', ...flags, '--sweep', 'lr=-1', '--redis', redis.url)
    assert.equal(bad.code, 2)
    assert.match(bad.err, /run "single lr=-1": lr: expected a positive number, got -1/)
  } finally {
    await Promise.all(workers.map((w) => w.stop()))
    await redis.stop()
    rmSync(out, { recursive: true, force: true })
    rmSync(local, { recursive: true, force: true })
  }
})
