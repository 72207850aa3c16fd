/**
 * Failure semantics on a real redis-server: a worker SIGKILLed mid-run loses nothing (the other worker takes the
 * job over and resumes it from the checkpoint, to the same result as an uninterrupted run); with Redis
 * unreachable, commands fail naming the URL and a worker keeps retrying with backoff until Redis is up.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadCheckpoint } from '../../src/node/checkpoint.ts'
import { gridMain } from '../../src/node/grid/cli.ts'
import { expandGrid, parseSeeds, parseSweep } from '../../src/node/grid/expand.ts'
import type { GridLibrary } from '../../src/node/grid/library.ts'
import { EVENTS_FILE, RESULT_FILE, runDir, runLocal } from '../../src/node/grid/worker.ts'
import { freePort, haveRedis, spawnWorker, startRedis, until } from './redis.ts'
import { gridLibrary } from './toy-library.ts'

const noDefault = async (): Promise<GridLibrary> => {
  throw new Error('the tests pass --library')
}
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
const completed = async (url: string) =>
  (JSON.parse((await grid('status', '--redis', url, '--json')).out) as { counts: { completed: number } }).counts.completed
type Event = { event: string; pid: number; epoch?: number; attempt?: number }
const readEvents = (dir: string): Event[] =>
  existsSync(join(dir, EVENTS_FILE))
    ? readFileSync(join(dir, EVENTS_FILE), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Event)
    : []

test('grid: a worker SIGKILLed mid-run: the other worker resumes the job from its checkpoint, it finishes once', async (t) => {
  if (!haveRedis(t)) return
  const redis = await startRedis()
  const out = mkdtempSync(join(tmpdir(), 'softshare-grid-'))
  const workers = [spawnWorker(redis.url, out), spawnWorker(redis.url, out)]
  try {
    await until('two workers listening', () => workers.every((w) => w.log().includes('worker on queue')), 60_000)
    const [spec] = expandGrid(gridLibrary, 'toy', { preset: 'slow', seeds: parseSeeds('1'), sweeps: [] })
    assert.equal((await grid('submit', 'toy', '--preset', 'slow', '--redis', redis.url)).code, 0)
    const dir = runDir(out, spec.id)
    // kill whichever worker took the job once it has checkpointed a few epochs
    await until(
      '3 epochs checkpointed',
      () => existsSync(join(dir, 'toy-ckpt.json')) && (loadCheckpoint(join(dir, 'toy-ckpt.json')).meta as { epoch: number }).epoch >= 3,
      60_000,
      50,
    )
    // status shows the running job with its progress
    const running = JSON.parse((await grid('status', '--redis', redis.url, '--json')).out) as {
      running: { id: string; progress: { epoch: number; of: number } }[]
    }
    assert.equal(running.running.length, 1)
    assert.equal(running.running[0].id, spec.id)
    assert.ok(running.running[0].progress.epoch >= 1 && running.running[0].progress.of === 10, JSON.stringify(running))
    const text = await grid('status', '--redis', redis.url)
    assert.match(text.out, new RegExp(`running:\\n  ${spec.id}  slow seed 0  attempt 1  \\{"epoch":\\d+,"of":10,"loss":`))
    const first = readEvents(dir)[0]
    const victim = workers.find((w) => w.proc.pid === first.pid)!
    const survivor = workers.find((w) => w !== victim)!
    victim.proc.kill('SIGKILL')
    await until('the job to complete', async () => (await completed(redis.url)) === 1, 90_000, 200)

    const ev = readEvents(dir)
    assert.deepEqual(
      ev.map((e) => [e.event, e.pid === victim.proc.pid ? 'victim' : 'survivor']),
      [
        ['start', 'victim'],
        ['start', 'survivor'],
        ['resume', 'survivor'],
        ['done', 'survivor'],
      ],
      'started by the killed worker, resumed and finished once by the other',
    )
    assert.ok(ev[2].epoch! >= 3 && ev[2].epoch! < 10, `resumed from epoch ${ev[2].epoch}, not from scratch or after the end`)
    assert.match(survivor.log(), /took over stalled job|start toy-/)
    // the checkpoint is whole and final, no temp file is left, and the result equals an uninterrupted run's
    assert.equal((loadCheckpoint(join(dir, 'toy-ckpt.json')).meta as { epoch: number }).epoch, 10)
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
    )
    const local = mkdtempSync(join(tmpdir(), 'softshare-local-'))
    t.after(() => rmSync(local, { recursive: true, force: true }))
    const [row] = await runLocal(gridLibrary, [{ ...spec, config: { ...(spec.config as object), stepMs: 0 } }], local)
    assert.deepEqual(JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8')), row.result)

    // SIGTERM mid-run: the worker exits at once (no run left going without a lock); a new worker resumes the job
    const [spec2] = expandGrid(gridLibrary, 'toy', { preset: 'slow', seeds: [0], sweeps: [parseSweep('epochs=9')] })
    assert.equal((await grid('submit', 'toy', '--preset', 'slow', '--sweep', 'epochs=9', '--redis', redis.url)).code, 0)
    const dir2 = runDir(out, spec2.id)
    await until(
      '2 epochs checkpointed',
      () => existsSync(join(dir2, 'toy-ckpt.json')) && (loadCheckpoint(join(dir2, 'toy-ckpt.json')).meta as { epoch: number }).epoch >= 2,
      60_000,
      50,
    )
    const t0 = Date.now()
    await survivor.stop()
    assert.ok(Date.now() - t0 < 3000, `SIGTERM took ${Date.now() - t0} ms: the worker waited for its run`)
    workers.push(spawnWorker(redis.url, out))
    await until('the second job to complete', async () => (await completed(redis.url)) === 2, 90_000, 200)
    const ev2 = readEvents(dir2).map((e) => e.event)
    assert.deepEqual(ev2, ['start', 'start', 'resume', 'done'])
  } finally {
    await Promise.all(workers.map((w) => w.stop()))
    await redis.stop()
    rmSync(out, { recursive: true, force: true })
  }
})

test('grid: Redis unreachable: commands name the URL; a worker retries with backoff and works once Redis is up', async (t) => {
  if (!haveRedis(t)) return
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  const st = await grid('status', '--redis', url)
  assert.equal(st.code, 1)
  assert.match(st.err, new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`))
  const sub = await grid('submit', 'toy', '--redis', url)
  assert.equal(sub.code, 1)
  assert.match(sub.err, new RegExp(`cannot reach Redis at ${url.replace(/\./g, '\\.')}`))
  assert.equal((await grid('status', '--redis', 'http://localhost:6379')).code, 2)

  const out = mkdtempSync(join(tmpdir(), 'softshare-grid-'))
  const worker = spawnWorker(url, out, ['--retry-base-ms', '200', '--retry-max-ms', '800'])
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined
  try {
    await until('three failed attempts', () => (worker.log().match(/cannot reach Redis at/g) ?? []).length >= 3, 60_000)
    const delays = [...worker.log().matchAll(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: .*; retrying in ([\d.]+) s/g)].map((m) =>
      Number(m[1]),
    )
    assert.deepEqual(delays.slice(0, 3), [0.2, 0.4, 0.8], worker.log())
    redis = await startRedis(port)
    assert.equal((await grid('submit', 'toy', '--redis', url, '--seeds', '0')).code, 2, '--seeds 0 is refused')
    assert.equal((await grid('submit', 'toy', '--redis', url, '--seeds', '1')).code, 0)
    await until('3 runs completed by the late worker', async () => (await completed(url)) === 3, 60_000, 200)
    assert.match(worker.log(), /reached Redis at redis:\/\/127\.0\.0\.1:\d+ after \d+ failed attempts/)
    // Redis goes away and comes back (empty: no persistence): the worker reconnects with backoff and takes new jobs
    await redis.stop()
    await until('the worker to notice', () => /lost Redis at redis:\/\/127\.0\.0\.1:\d+; reconnecting in/.test(worker.log()), 30_000)
    redis = await startRedis(port)
    assert.equal((await grid('submit', 'toy', '--redis', url, '--seeds', '1', '--sweep', 'epochs=2')).code, 0)
    await until('3 more runs completed after the restart', async () => (await completed(url)) === 3, 60_000, 200)
  } finally {
    await worker.stop()
    await redis?.stop()
    rmSync(out, { recursive: true, force: true })
  }
})
