/**
 * The 6-run smoke grid on softshare's own experiments (quickstart runs × 2 seeds, `runExperiment` at the smoke
 * preset) over 2 worker processes and a real redis-server: every run finishes once, and the report and
 * results.json equal those `grid local` computes on one machine for the same configs.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { paperGridLibrary } from '../../src/node/grid/paper.ts'
import { EVENTS_FILE } from '../../src/node/grid/worker.ts'
import { assertReportIsLocal, gridCli, haveRedis, twoWorkerGrid, waitCompleted } from './redis.ts'

const grid = gridCli(paperGridLibrary)

test('grid: 6 smoke runs of the experiment library over 2 workers give the one-machine report, each run once', async (t) => {
  if (!haveRedis(t)) return
  // real runs generate data synchronously: a long lock, so a busy event loop is never mistaken for a dead worker
  const slowLock = ['--lock-ms', '20000', '--stalled-ms', '5000']
  const { redis, out, local, stop } = await twoWorkerGrid(slowLock, null)
  try {
    const flags = ['quickstart', '--preset', 'smoke', '--seeds', '2']
    const t0 = Date.now()
    const sub = await grid('submit', ...flags, '--redis', redis.url)
    assert.match(sub.out, /submitted 6 new run\(s\) of 6/, sub.err)
    await waitCompleted(grid, redis.url, 6, 300_000)
    t.diagnostic(`smoke grid (experiment library), 2 workers: ${Date.now() - t0} ms from submit to 6 completed`)
    await assertReportIsLocal(grid, flags, redis.url, out, local, 6)
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
    await stop()
  }
})
