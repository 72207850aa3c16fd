import assert from 'node:assert/strict'
import { test } from 'node:test'
import { im2colConv2d, maxPoolComposite } from '../../src/nn/conv.ts'
import { accuracyHost, crossEntropy, oneHotHost } from '../../src/nn/losses.ts'
import { decodeResNetConfig, resnet, resnetLayouts } from '../../src/nn/resnet.ts'
import { adam } from '../../src/optim/index.ts'
import { trainStep } from '../../src/train/step.ts'
import { conv2d, cpuBackend, fromData, key, normal, refBackend, run, runSync, split, tensor, type Tensor } from '../../src/index.ts'

test('resnet layouts: 18 and 34 have 17 / 33 main convs (+3 projection shortcuts); small has 7 (+2)', () => {
  const count = (c: ReturnType<typeof resnetLayouts.resnet18>) => {
    let convs = 1
    c.blocks.forEach((b, i) => {
      convs += 2 * b + (i > 0 ? 1 : 0)
    })
    return convs
  }
  assert.equal(count(resnetLayouts.resnet18(3, 10)), 20)
  assert.equal(count(resnetLayouts.resnet34(3, 10)), 36)
  const { params } = resnet.init(key(0), resnetLayouts.small(1, 5, 4))
  assert.deepEqual(
    resnet.convWeights(params).map((w) => w.shape),
    [
      [3, 3, 1, 4],
      [3, 3, 4, 4],
      [3, 3, 4, 4],
      [3, 3, 4, 8],
      [3, 3, 8, 8],
      [1, 1, 4, 8],
      [3, 3, 8, 16],
      [3, 3, 16, 16],
      [1, 1, 8, 16],
    ],
  )
  assert.throws(
    () => resnet.init(key(0), { ...resnetLayouts.small(1, 5), blocks: [1, 1] }),
    /resnet.init: widths \[8,16,32\] and blocks \[1,1\]/,
  )
})

test('resnet.apply: feature and output shapes (48×48 → 6×6 final map, pooled), state tree mirrors params', () => {
  const c = resnetLayouts.small(1, 7, 4)
  const { params, state } = resnet.init(key(1), c)
  const r = resnet.apply(params, normal(key(2), [2, 48, 48, 1]), state, { training: true, config: c })
  assert.deepEqual(r.features.shape, [2, 16])
  assert.deepEqual(r.out.shape, [2, 7])
  assert.equal(r.state.stages.length, 3)
  assert.ok(r.state.stages[1][0].down)
  assert.throws(
    () => resnet.apply(params, normal(key(2), [2, 8, 8, 3]), state, { training: true, config: c }),
    /resnet.apply: expected x \[N,H,W,1\], got \[2,8,8,3\]/,
  )
})

test('im2col composite conv equals the conv2d primitive (stride 1 and 2, same and valid)', () => {
  const [k1, k2] = split(key(3))
  const x = normal(k1, [2, 7, 6, 3])
  const w = normal(k2, [3, 3, 3, 4])
  for (const strides of [1, 2])
    for (const padding of ['same', 'valid'] as const) {
      const [a, b] = runSync([im2colConv2d(x, w, { strides, padding }), conv2d(x, w, { strides, padding })], { backend: refBackend() })
      assert.deepEqual(a.shape, b.shape)
      a.data.forEach((v, i) => {
        assert.ok(Math.abs(v - b.data[i]) < 1e-9, `s=${strides} ${padding} at ${i}`)
      })
    }
  const m = runSync(maxPoolComposite(tensor([1, 5, 2, 3, 0, 7, 4, 6, 8], [1, 3, 3, 1]), 2, 2, 'same'), { backend: refBackend() })
  assert.deepEqual([...m.data], [5, 7, 6, 8])
})

test('a tiny ResNet overfits 16 examples to ≥ 95% training accuracy', async () => {
  const c = { ...resnetLayouts.small(1, 4, 4), blocks: [1, 1] as const, widths: [4, 8] as const }
  const init = resnet.init(key(4), c)
  const x = normal(key(5), [16, 12, 12, 1])
  const labels = fromData(
    Float32Array.from({ length: 16 }, (_, i) => i % 4),
    [16],
  )
  const y = oneHotHost(labels, 4)
  const be = cpuBackend()
  const step = trainStep<null, any, any>({
    optimizer: adam({ lr: 0.02 }),
    backend: be,
    loss: (p, _b, s) => {
      const r = resnet.apply(p, x, s, { training: true, config: c })
      return { loss: crossEntropy(r.out, y), modelState: r.state }
    },
  })
  let st: any = { params: init.params, modelState: init.state, opt: adam({ lr: 0.02 }).init(init.params), step: 0 }
  const first = (await step(st, null)).metrics.loss
  for (let i = 0; i < 60; i++) st = await step(st, null)
  const logits = (await run(resnet.apply(st.params, x, st.modelState, { training: false, config: c }).out as Tensor, {
    backend: be,
  })) as any
  const acc = accuracyHost(logits, labels)
  assert.ok(acc >= 0.95, `accuracy ${acc} (first loss ${first})`)
})

test('ResNetConfig codec: accepts the layouts, names each bad field', () => {
  assert.equal(decodeResNetConfig(resnetLayouts.resnet34(3, 13))._tag, 'Right')
  const r = decodeResNetConfig({
    ...resnetLayouts.small(1, 13),
    widths: [8, -1, 32],
    stem: { width: 8, kernel: 3, strides: 'x', maxPool: false },
  })
  assert.equal(r._tag, 'Left')
  if (r._tag === 'Left')
    assert.deepEqual(r.left, ['stem.strides: expected PositiveInteger, got "x"', 'widths.1: expected PositiveInteger, got -1'])
})
