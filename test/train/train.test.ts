import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { dense } from '../../src/nn/dense.ts'
import { sgd } from '../../src/optim/index.ts'
import { fit, formatEpoch, trainStep } from '../../src/train/index.ts'
import { jsonlLog, loadCheckpoint, saveCheckpoint } from '../../src/node/index.ts'
import { cpuBackend, key, mean, normal, split, square, sub, tensor, tensor64, type HostTensor } from '../../src/index.ts'

test('formatEpoch: Keras-style line', () => {
  assert.equal(formatEpoch(3, 10, 1.234, { loss: 0.12345, acc: 0.5 }), 'Epoch 3/10 - 1.2s - loss=0.1235 - acc=0.5000')
})

test('fit: a fold over batches; one line per epoch, JSONL log, loss decreases on linear regression', async () => {
  const [kx, kw] = split(key(7))
  const x = normal(kx, [64, 3])
  const y = {
    kind: 'host',
    shape: [64, 1],
    data: Float32Array.from({ length: 64 }, (_, i) => x.data[i * 3] - 2 * x.data[i * 3 + 1] + 0.5 * x.data[i * 3 + 2]),
  } as HostTensor
  const opt = sgd({ lr: 0.1 })
  const step = trainStep<{ x: HostTensor; y: HostTensor }, any, any>({
    optimizer: opt,
    backend: cpuBackend(),
    loss: (p, b) => ({ loss: mean(square(sub(dense.apply(p, b.x), b.y))) }),
  })
  const params = dense.init(kw, { inFeatures: 3, outFeatures: 1 })
  const dir = mkdtempSync(join(tmpdir(), 'softshare-'))
  const logPath = join(dir, 'log.jsonl')
  const lines: string[] = []
  const batches = (_e: number) => [0, 1, 2, 3].map((i) => ({ x: slice(x, i), y: slice(y, i) }))
  const { state, history } = await fit(
    { params, modelState: {}, opt: opt.init(params), step: 0 },
    { epochs: 4, batches, step, print: (l) => lines.push(l), log: jsonlLog(logPath) },
  )
  assert.equal(state.step, 16)
  assert.equal(lines.length, 4)
  assert.match(lines[3], /^Epoch 4\/4 - \d+\.\ds - loss=\d\.\d{4}/)
  const log = readFileSync(logPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(log.length, 4)
  assert.ok(log[3].metrics.loss < 0.2 * log[0].metrics.loss, `${log[0].metrics.loss} → ${log[3].metrics.loss}`)
  assert.deepEqual(
    history.map((h) => h.epoch),
    [1, 2, 3, 4],
  )
})

const slice = (t: HostTensor, i: number): HostTensor => {
  const rows = 16
  const w = t.shape[1]
  return { kind: 'host', shape: [rows, w], data: t.data.slice(i * rows * w, (i + 1) * rows * w) }
}

test('checkpoints: round trip (float32 and float64, nested trees), no temp file left, clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-ckpt-'))
  const path = join(dir, 'model.ckpt')
  const tree = { a: [tensor([1.5, -2, 3]), { b: tensor64([[Math.PI]]) }], c: tensor(7) }
  saveCheckpoint(path, tree as any, { epoch: 3 })
  saveCheckpoint(path, tree as any, { epoch: 4 }) // overwrite goes through rename too
  assert.deepEqual(readdirSync(dir), ['model.ckpt'])
  const back = loadCheckpoint(path) as any
  assert.deepEqual(back.meta, { epoch: 4 })
  assert.deepEqual([...back.tree.a[0].data], [1.5, -2, 3])
  assert.ok(back.tree.a[1].b.data instanceof Float64Array)
  assert.equal(back.tree.a[1].b.data[0], Math.PI)
  assert.deepEqual(back.tree.c.shape, [])
  writeFileSync(
    join(dir, 'bad.ckpt'),
    '{"format":"softshare-checkpoint","version":1,"meta":{},"tree":{"record":{"w":{"shape":[2,2],"dtype":"float32","data":"AAAA"}}}}',
  )
  assert.throws(() => loadCheckpoint(join(dir, 'bad.ckpt')), /bad.ckpt: tensor at .w has 0.75 values for shape \[2,2\]/)
  writeFileSync(join(dir, 'junk.ckpt'), '{"hello": 1}')
  assert.throws(() => loadCheckpoint(join(dir, 'junk.ckpt')), /junk.ckpt: not a softshare checkpoint/)
})
