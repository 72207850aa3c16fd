/**
 * Table 4 at the smoke preset as a grid over 2 worker processes and a real redis-server (the γ sweep first, the
 * runs at the chosen γ submitted by the workers as the sweep finishes): `grid report table4` writes the files
 * `npm run paper -- table4 --preset smoke` writes (numbers, report.md apart from time lines, SVG and PNG figures);
 * every run finishes once; a run that was never submitted is listed in the report, not dropped. Fig. 3 rides
 * along on the same workers, compared the same way.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { paperGridLibrary } from '../../src/node/grid/paper.ts'
import { EVENTS_FILE } from '../../src/node/grid/worker.ts'
import { gridCli, haveRedis, twoWorkerGrid, waitCompleted } from './redis.ts'

const grid = gridCli(paperGridLibrary)
const root = join(import.meta.dirname, '..', '..')

/** `npm run paper -- ARGS` (examples/paper.ts) as a child process; resolves to its exit code and stderr. */
const paper = (...args: string[]): Promise<{ code: number | null; err: string }> =>
  new Promise((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples', 'paper.ts'), ...args], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    p.stderr.on('data', (b: Buffer) => {
      err += b.toString()
    })
    p.once('exit', (code) => res({ code, err }))
  })

/** results.json without wall times (`seconds`, `secondsPerEpoch` at any depth). */
const numbers = (path: string): unknown =>
  JSON.parse(readFileSync(path, 'utf8'), (k, v) => (k === 'seconds' || k === 'secondsPerEpoch' ? undefined : v))

/** report.md without its time lines: the `_Experiment time_` line and every table's `s/epoch` column. */
const withoutTimes = (path: string): string => {
  let col = -1
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('_Experiment time:'))
    .map((l) => {
      if (!l.startsWith('|')) {
        col = -1
        return l
      }
      const cells = l.split('|')
      const at = cells.findIndex((c) => c.trim() === 's/epoch')
      if (at >= 0) col = at
      return col >= 0 ? cells.filter((_, i) => i !== col).join('|') : l
    })
    .join('\n')
}

test('grid: table4 (and fig3) smoke over 2 workers write the reports of `npm run paper -- table4 --preset smoke`, each run once', async (t) => {
  if (!haveRedis(t)) return
  // real runs generate data synchronously: a long lock, so a busy event loop is never mistaken for a dead worker
  const slowLock = ['--lock-ms', '20000', '--stalled-ms', '5000']
  const { redis, out, local, stop } = await twoWorkerGrid(slowLock, null)
  try {
    const flags = ['table4', '--preset', 'smoke']
    const t0 = Date.now()
    const sub = await grid('submit', ...flags, '--redis', redis.url)
    // stage 1: the γ sweep at seed 0 (single + 3 norms × 2 γ) and every run that needs no γ (2 seeds × (single, hard ×3 ±ADA, cross-stitch ±ADA), seed 0's single is the sweep's)
    assert.match(sub.out, /submitted 24 new run\(s\) of 24/, sub.err)
    assert.match((await grid('submit', 'fig3', '--preset', 'smoke', '--redis', redis.url)).out, /submitted 4 new run\(s\) of 4/)
    // meanwhile the same experiments on one machine
    const single = (async () => [await paper(...flags, '--out', local), await paper('fig3', '--preset', 'smoke', '--out', local)])()
    // stage 2 (the norms and norms + ADA at the chosen γ, seed 0's norms being the sweep's) comes from the workers
    await waitCompleted(grid, redis.url, 37, 600_000)
    t.diagnostic(`table4 + fig3 smoke grid, 2 workers: ${Date.now() - t0} ms from submit to 37 completed (npm run paper running alongside)`)
    for (const ref of await single) assert.equal(ref.code, 0, ref.err)

    for (const [experiment, n, nFigures] of [
      ['table4', 33, 10],
      ['fig3', 4, 12],
    ] as const) {
      const rep = await grid('report', experiment, '--redis', redis.url, '--out', out)
      assert.match(rep.out, new RegExp(`${n} of ${n} runs finished`), rep.err)
      const mine = join(out, experiment)
      const theirs = join(local, experiment)
      assert.deepEqual(numbers(join(mine, 'results.json')), numbers(join(theirs, 'results.json')), `${experiment}: results.json numbers`)
      assert.equal(
        withoutTimes(join(mine, 'report.md')),
        withoutTimes(join(theirs, 'report.md')),
        `${experiment}: report.md apart from times`,
      )
      const figures = readdirSync(theirs).filter((f) => /\.(svg|png)$/.test(f))
      assert.equal(figures.length, nFigures)
      assert.deepEqual(
        readdirSync(mine)
          .filter((f) => /\.(svg|png)$/.test(f))
          .sort(),
        [...figures].sort(),
      )
      for (const f of figures) assert.ok(readFileSync(join(mine, f)).equals(readFileSync(join(theirs, f))), `${experiment}/${f} differs`)
    }

    for (const id of readdirSync(join(out, 'runs'))) {
      const ev = readFileSync(join(out, 'runs', id, EVENTS_FILE), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).event)
      assert.deepEqual(ev, ['start', 'done'], `run ${id} ran once`)
    }
    const again = await grid('submit', ...flags, '--redis', redis.url)
    assert.match(again.out, /submitted 0 new run\(s\) of 33/)

    // a grid with a third seed that was never submitted: its 15 runs are listed as missing, the rest reported
    const partial = await grid('report', ...flags, '--seeds', '3', '--redis', redis.url, '--out', local)
    assert.match(partial.out, /33 of 48 runs finished/, partial.err)
    const md = readFileSync(join(local, 'table4', 'report.md'), 'utf8')
    assert.match(md, /## Missing runs \(15\)/)
    assert.match(md, /- seed 2 hard-3: hard\+ada, seed 2: not submitted/)
    const missing = (numbers(join(local, 'table4', 'results.json')) as { missing: unknown[] }).missing
    assert.equal(missing.length, 15)

    const bad = await grid('submit', 'table4', '--preset', 'smoke', '--sweep', 'lr=-1', '--redis', redis.url)
    assert.equal(bad.code, 2)
    assert.match(bad.err, /grid table4: --sweep: the paper experiments take "domain-shift", got "lr=-1"/)
  } finally {
    await stop()
  }
})
