import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { cpuBackend, key, mean, relu, softmaxCrossEntropy, split, tensor } from '../../src/index.ts'
import { dense } from '../../src/nn/dense.ts'
import { adam } from '../../src/optim/index.ts'
import { loadCheckpoint, saveCheckpoint } from '../../src/node/index.ts'
import { freeze, loadTrunk, trainStep } from '../../src/train/index.ts'

const model = (k: ReturnType<typeof key>, classes: number) => {
  const [a, b] = split(k)
  return {
    trunk: dense.init(a, { inFeatures: 4, outFeatures: 8 }),
    head: dense.init(b, { inFeatures: 8, outFeatures: classes, init: 'glorot' }),
  }
}

test('fine-tuning: a checkpoint trunk into a model with another head; mismatches named; frozen trunk stays put', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-ft-'))
  const trained = model(key(1), 3)
  saveCheckpoint(join(dir, 'm.safetensors'), { state: { params: trained } })
  const { tree } = loadCheckpoint(join(dir, 'm.safetensors')) as { tree: any }
  const fresh = model(key(2), 5)
  assert.throws(
    () => loadTrunk(fresh, tree.state.params),
    /loadTrunk: tensor head\.w has shape \[8,3\] in the checkpoint but \[8,5\] in the model .*skip: \['head'\]/,
  )
  assert.throws(() => loadTrunk(fresh, tree), /no tensor of the checkpoint matches .*tree\.state\.params/)
  const { params, loaded, fresh: kept } = loadTrunk(fresh, tree.state.params, { skip: ['head'] })
  assert.deepEqual(loaded, ['trunk.w', 'trunk.b'])
  assert.deepEqual(kept, ['head.w', 'head.b'])
  assert.deepEqual([...(params.trunk.w as any).data], [...(trained.trunk.w as any).data])
  assert.equal(params.head.w, fresh.head.w)
  const x = tensor([
    [1, 2, 3, 4],
    [-1, 0, 1, 2],
  ])
  const y = tensor([
    [1, 0, 0, 0, 0],
    [0, 0, 0, 0, 1],
  ])
  const opt = freeze(adam({ lr: 0.1 }), ['trunk'])
  const step = trainStep<null, typeof params, object>({
    optimizer: opt,
    backend: cpuBackend(),
    loss: (p) => ({ loss: mean(softmaxCrossEntropy(dense.apply(p.head, relu(dense.apply(p.trunk, x))), y)) }),
  })
  const s = await step({ params, modelState: {}, opt: opt.init(params), step: 0 }, null)
  const after = s.params as any
  assert.deepEqual([...after.trunk.w.data], [...(trained.trunk.w as any).data])
  assert.notDeepEqual([...after.head.w.data], [...(fresh.head.w as any).data])
})
