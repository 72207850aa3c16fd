import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { add, cpuBackend, key, mean, sqrt, square, sub, tensor } from '../../src/index.ts'
import { defaultExperiment, runExperiment } from '../../src/experiments/index.ts'
import { dense } from '../../src/nn/dense.ts'
import { sgd } from '../../src/optim/index.ts'
import {
  crc32c,
  fitRun,
  listCheckpoints,
  loadCheckpoint,
  openRun,
  phaseProgress,
  progressSink,
  progressTicker,
  readEvents,
} from '../../src/node/index.ts'
import { trainStep } from '../../src/train/index.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'softshare-run-'))
const child = (args: string[], env: Record<string, string> = {}, script = 'resume-child.ts'): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', `test/node/${script}`, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
const finish = (p: ChildProcess): Promise<string> =>
  new Promise((ok, fail) => {
    let out = ''
    let err = ''
    p.stdout?.on('data', (d) => {
      out += d
    })
    p.stderr?.on('data', (d) => {
      err += d
    })
    p.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? ok(out) : fail(new Error(`child exited ${code}: ${err}`))))
  })
/** Resolves with the child's output once it printed `step N`, which is when it gets SIGKILL. */
const killAt = (p: ChildProcess, step: number): Promise<string> =>
  new Promise((ok) => {
    let seen = ''
    p.stdout?.on('data', (d) => {
      seen += d
      if (new RegExp(`step ${step}\n`).test(seen) && p.kill('SIGKILL')) ok(seen)
    })
  })
const lastStep = (out: string): number => Math.max(...[...out.matchAll(/step (\d+)/g)].map((m) => Number(m[1])))
const records = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { epoch, step, lr, train, test } = JSON.parse(l)
      return { epoch, step, lr, train, test }
    })
const tensorsOf = (file: string) => {
  const { tree } = loadCheckpoint(file) as { tree: any }
  // wall-clock seconds are the only fields allowed to differ
  return JSON.stringify([tree.state.params, tree.state.modelState, tree.state.opt, tree.state.step, tree.cursor, tree.best], (k, v) =>
    k === 'wall' || k === 'seconds'
      ? null
      : v && v.kind === 'host'
        ? [v.shape, Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('hex')]
        : v,
  )
}

test('resume after SIGKILL mid-epoch is bit-identical to an uninterrupted run (weights, optimiser, batch norm, metrics)', async () => {
  const out = tmp()
  const killed = child(['new', out], { SLOW_MS: '40' })
  const done = finish(killed)
  // 8 steps per epoch, checkpoints every 3 steps: step 10 is mid-epoch 2, one step past the step-9 checkpoint
  const seen = await killAt(killed, 10)
  await done
  const [id] = readdirSync(out)
  const dir = join(out, id)
  const lastSeen = lastStep(seen)
  assert.ok(lastSeen < 24, `the child finished (step ${lastSeen}) before the kill`)
  assert.ok(readdirSync(dir).includes('lock'), 'the killed run left its lock behind')
  const from = (loadCheckpoint(listCheckpoints(dir)[0]) as { tree: any }).tree.state.step
  await finish(child(['resume', dir]))
  const ref = tmp()
  await finish(child(['new', ref]))
  const refDir = join(ref, readdirSync(ref)[0])
  console.log(`resume test: killed after step ${lastSeen} (epoch 2 of 3), resumed from the step-${from} checkpoint, finished at step 24`)
  assert.deepEqual(
    listCheckpoints(dir).map((f) => f.slice(dir.length)),
    listCheckpoints(refDir).map((f) => f.slice(refDir.length)),
  )
  assert.equal(
    tensorsOf(join(dir, 'checkpoints', 'step-00000024.safetensors')),
    tensorsOf(join(refDir, 'checkpoints', 'step-00000024.safetensors')),
  )
  assert.equal(tensorsOf(join(dir, 'best.safetensors')), tensorsOf(join(refDir, 'best.safetensors')))
  assert.deepEqual(records(dir), records(refDir))
  assert.deepEqual(
    records(dir).map((r) => r.step),
    [8, 16, 24],
  )
  assert.ok(!readdirSync(dir).includes('lock'))
  // TensorBoard: the event files parse with valid CRCs and carry the epoch scalars
  const events = readdirSync(refDir).filter((f) => f.startsWith('events.out.tfevents.'))
  assert.equal(events.length, 1)
  const ev = readEvents(join(refDir, events[0]))
  assert.equal(ev[0].fileVersion, 'brain.Event:2')
  assert.deepEqual(
    ev.slice(1).map((e) => e.step),
    [8, 16, 24],
  )
  assert.equal(ev[3].scalars['test/testMse'], Math.fround(records(refDir)[2].test.testMse))
  assert.ok('train/loss' in ev[1].scalars && 'lr' in ev[1].scalars)
  const bytes = readFileSync(join(refDir, events[0]))
  bytes[bytes.length - 6] ^= 1
  writeFileSync(join(ref, 'bad.tfevents'), bytes)
  assert.throws(() => readEvents(join(ref, 'bad.tfevents')), /bad\.tfevents: bad data CRC at byte \d+/)
})

test('experiment runs: per-epoch validation is logged and picks best, resumes bit for bit after SIGKILL, test numbers unchanged', async () => {
  await assert.rejects(
    runExperiment({ ...defaultExperiment, val: 0 }, { backend: cpuBackend(), epochValidation: true }),
    /runExperiment: epochValidation needs a validation split \(config\.val > 0\), got val 0/,
  )
  const script = 'resume-experiment-child.ts'
  const out = tmp()
  const ref = tmp()
  const killed = child(['new', out], { SLOW_MS: '40' }, script)
  const done = finish(killed)
  const uninterrupted = finish(child(['new', ref], {}, script))
  const plain = finish(child(['plain'], {}, script))
  // 4 steps per epoch, checkpoints every 3 steps: step 7 is mid-epoch 2, one step past the step-6 checkpoint
  const seen = await killAt(killed, 7)
  await done
  assert.ok(lastStep(seen) < 12, `the child finished (step ${lastStep(seen)}) before the kill`)
  const dir = join(out, readdirSync(out)[0])
  const resumed = await finish(child(['resume', dir], {}, script))
  const refDir = join(ref, readdirSync(ref)[0])
  const resultOf = (s: string) => JSON.parse(s.match(/^result (.*)$/m)?.[1] ?? 'null')
  const a = resultOf(resumed)
  const b = resultOf(await uninterrupted)
  const p = resultOf(await plain)
  const recs = records(refDir)
  console.log(
    `experiment resume test: killed after step ${lastStep(seen)}, resumed; val_err per epoch ${recs.map((r) => r.test.val_err.toFixed(4)).join(' ')}`,
  )
  assert.deepEqual(records(dir), recs)
  assert.deepEqual(
    recs.map((r) => [r.step, Object.keys(r.test).sort(), Object.values(r.test).every(Number.isFinite)]),
    [4, 8, 12].map((s) => [s, ['val_acc', 'val_err', 'val_nme'], true]),
  )
  assert.equal(
    tensorsOf(join(dir, 'checkpoints', 'step-00000012.safetensors')),
    tensorsOf(join(refDir, 'checkpoints', 'step-00000012.safetensors')),
  )
  assert.equal(tensorsOf(join(dir, 'best.safetensors')), tensorsOf(join(refDir, 'best.safetensors')))
  const events = readEvents(join(refDir, readdirSync(refDir).find((f) => f.startsWith('events.out.tfevents.')) ?? ''))
  assert.deepEqual(
    events.slice(1).map((e) => [e.step, e.scalars['test/val_err']]),
    recs.map((r) => [r.step, Math.fround(r.test.val_err)]),
  )
  // best is the epoch of the lowest validation error
  const bestRec = recs.reduce((x, y) => (y.test.val_err < x.test.val_err ? y : x))
  const saved = (loadCheckpoint(join(refDir, 'best.safetensors')) as { tree: any }).tree
  assert.deepEqual([saved.state.step, saved.best.value], [bestRec.step, bestRec.test.val_err])
  assert.deepEqual(a, b)
  // without a validation split or pass: the same test metrics and training metrics, bit for bit
  assert.deepEqual(p.test, b.test)
  assert.deepEqual(
    p.epochs,
    b.epochs.map(({ val_acc: _a, val_nme: _n, val_err: _e, ...train }: Record<string, number>) => train),
  )
})

test('CRC32C: the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
})

test('run directories: a second writer is refused, outputs are validated before training, two runs never share a directory', () => {
  const out = tmp()
  const a = openRun({ out, name: 'x', config: { lr: 1 } })
  const b = openRun({ out, name: 'x', config: { lr: 1 } })
  assert.notEqual(a.dir, b.dir)
  assert.throws(() => openRun({ resume: a.dir }), /is already open in this process/)
  a.close()
  // a live writer in another process (our parent) holds the lock
  writeFileSync(join(a.dir, 'lock'), JSON.stringify({ pid: process.ppid, host: hostname(), since: 'earlier' }))
  assert.throws(() => openRun({ resume: a.dir }), new RegExp(`is in use by process ${process.ppid} .*two runs cannot write one directory`))
  assert.throws(() => openRun({ resume: a.dir, config: { lr: 2 } }), /started with a different config \(lr: 1 then, 2 now\)/)
  writeFileSync(join(out, 'file'), 'x')
  assert.throws(() => openRun({ out: join(out, 'file') }), /--out .*file: cannot create the folder: (EEXIST|ENOTDIR)/)
  assert.throws(() => openRun({ out: '/proc/x' }), /--out \/proc\/x: cannot create the folder: ENOENT/)
  assert.throws(() => openRun({ resume: join(out, 'nope') }), /--resume .*nope: not a run directory/)
  b.close()
})

test('NaN guard: a non-finite loss stops the run naming the step and the op; the last good checkpoint stays', async () => {
  const out = tmp()
  const opt = sgd({ lr: 0.1 })
  const params = dense.init(key(1), { inFeatures: 2, outFeatures: 1 })
  const x = tensor([
    [1, 2],
    [3, 4],
  ])
  const step = trainStep<number, any, object>({
    optimizer: opt,
    backend: cpuBackend(),
    // from step 3 on, the loss takes the square root of a negative number
    loss: (p, _b, _s, ctx) => ({ loss: add(mean(square(dense.apply(p, x))), sqrt(sub(tensor(1), tensor(ctx.step >= 3 ? 2 : 0)))) }),
  })
  const run = fitRun(
    { params, modelState: {}, opt: opt.init(params), step: 0 },
    { epochs: 2, batches: () => [0, 1, 2, 3], step, print: null },
    { out, everySteps: 1 },
  )
  await assert.rejects(run, /loss is NaN at step 3 \(epoch 1, batch 4\).*checkNumerics: op 'sqrt' produced NaN/)
  const dir = join(out, readdirSync(out)[0])
  assert.equal((loadCheckpoint(listCheckpoints(dir)[0]) as { tree: any }).tree.state.step, 3)
  assert.ok(!readdirSync(dir).includes('lock'))
  const lrNaN = trainStep<number, any, object>({
    optimizer: opt,
    backend: cpuBackend(),
    lr: () => Number.NaN,
    loss: (p) => ({ loss: mean(dense.apply(p, x)) }),
  })
  await assert.rejects(
    lrNaN({ params, modelState: {}, opt: opt.init(params), step: 5 }, 0),
    /learning rate schedule returned NaN at step 5/,
  )
})

test('progress: piped output gets a line every interval with run, epoch, step/total, throughput and ETA', () => {
  let now = 0
  const lines: string[] = []
  const sink = progressSink({ isTTY: false, intervalMs: 10_000, now: () => now, write: (s) => lines.push(s) })
  const info = { label: 'laf', epoch: 2, epochs: 6, batch: 37, batches: 64, rate: 3.125, eta: 70, metrics: { loss: 0.8123 } }
  sink('bar', info)
  now = 10_001
  sink('bar', info)
  now = 15_000
  sink('bar', info)
  assert.deepEqual(lines, ['laf: epoch 2/6, step 37/64, 3.13 steps/s, ETA 1m10s, loss=0.8123\n'])
  const ticks: string[] = []
  now = 0
  const tick = progressTicker('generating faces', 100, { isTTY: false, intervalMs: 10_000, now: () => now, write: (l) => ticks.push(l) })
  now = 4_000
  tick(10)
  now = 12_000
  tick(40)
  now = 20_000
  tick(100)
  assert.deepEqual(ticks, ['generating faces: 40/100 (12s, ETA 18s)\n', 'generating faces: 100/100 (20s)\n'])
  // a phase sink starts a fresh ticker (and clock) when the phase changes
  const phaseLines: string[] = []
  now = 0
  const phase = phaseProgress({ isTTY: false, intervalMs: 10_000, now: () => now, write: (l) => phaseLines.push(l) })
  phase('generating faces', 10, 10)
  now = 5_000
  phase('evaluating laf (test)', 4, 8)
  phase('evaluating laf (test)', 8, 8)
  assert.deepEqual(phaseLines, ['generating faces: 10/10 (0s)\n', 'evaluating laf (test): 8/8 (0s)\n'])
})
