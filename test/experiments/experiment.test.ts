import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isLeft, isRight } from 'fp-ts/lib/Either.js'
import { cpuBackend } from '../../src/backend/cpu/index.ts'
import { cumulativeErrors, generateFaces, interOcularDistance, interPupilDistance } from '../../src/data/index.ts'
import {
  decodeExperimentConfig,
  defaultExperiment,
  type ExperimentConfig,
  makeExperimentData,
  runExperiment,
  runKinds,
  withPretrainedTrunk,
} from '../../src/experiments/index.ts'
import { resnet, resnetLayouts } from '../../src/nn/resnet.ts'
import { key } from '../../src/tensor/prng.ts'
import type { HostTensor } from '../../src/tensor/host.ts'
import { leaves, type Tree } from '../../src/tensor/tree.ts'
import { fit } from '../../src/train/loop.ts'

const tiny: ExperimentConfig = {
  ...defaultExperiment,
  train: 16,
  test: 8,
  val: 8,
  size: 16,
  epochs: 1,
  batch: 8,
  width: 2,
  runs: ['single', 'laf+ada'],
}

test('experiment config: JSON decodes over the defaults; bad fields, unknown fields and cross-field errors are named', () => {
  const ok = decodeExperimentConfig({ runs: ['hard+ada'], gamma: { laf: 0.1, tucker: 0.01, tt: 0.02 } })
  assert.ok(isRight(ok) && ok.right.runs[0] === 'hard+ada' && ok.right.epochs === defaultExperiment.epochs)
  const bad = decodeExperimentConfig({ epochs: 0, runs: ['laf', 'tuker'], backend: 'tpu' })
  assert.ok(isLeft(bad))
  if (isLeft(bad)) {
    assert.ok(bad.left.includes('epochs: expected a positive integer, got 0'), bad.left.join('\n'))
    assert.ok(
      bad.left.some((m) => m.startsWith('runs.1: expected one of single, single+ada, hard') && m.endsWith('got "tuker"')),
      bad.left.join('\n'),
    )
    assert.ok(bad.left.includes('backend: expected one of cpu, gpu, auto, ref, got "tpu"'), bad.left.join('\n'))
  }
  const typo = decodeExperimentConfig({ epoch: 3 })
  assert.ok(isLeft(typo) && typo.left[0].startsWith('epoch: unknown field'))
  const cross = decodeExperimentConfig({ batch: 64, train: 32, folds: 3, fold: 3 })
  assert.ok(isLeft(cross))
  if (isLeft(cross))
    assert.deepEqual(cross.left, ['batch: expected at most train (32), got 64', 'fold: expected an integer in [0, 3), got 3'])
  assert.ok(isLeft(decodeExperimentConfig([1, 2])))
  assert.equal(runKinds.length, 12)
})

test('synthetic data: domainShift 0 renders domain B like A; challenging marks a minority tail; basic7 labels in 0..6', () => {
  const k = key(3)
  const a = generateFaces(k, { n: 64, size: 24, domain: 'A', standardize: 'none' })
  const b0 = generateFaces(k, { n: 64, size: 24, domain: 'B', domainShift: 0, standardize: 'none' })
  const b1 = generateFaces(k, { n: 64, size: 24, domain: 'B', standardize: 'none' })
  const meanOf = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, v) => a + v, 0) / xs.length
  // domain A is light, B dark: the shift moves the mean brightness, shift 0 removes it
  assert.ok(Math.abs(meanOf(a.images.data) - meanOf(b0.images.data)) < 0.05)
  assert.ok(meanOf(a.images.data) - meanOf(b1.images.data) > 0.2)
  const hard = meanOf(b1.challenging)
  assert.ok(hard > 0.05 && hard < 0.5, `challenging fraction ${hard}`)
  const occ = generateFaces(k, { n: 64, size: 24, domain: 'B', occlusion: 1 })
  assert.ok(
    occ.challenging.every((v) => v === 1),
    'every occluded face is challenging',
  )
  const c = generateFaces(k, { n: 64, size: 24, domain: 'C', classes: 'basic7', intensity: 2 })
  assert.ok(c.labels.data.every((l) => Number.isInteger(l) && l >= 0 && l < 7))
  assert.equal(new Set(c.labels.data).size, 7)
  // inter-pupil distance is shorter than outer-corner distance; the CED is monotone and ends at 1
  assert.ok(interPupilDistance(b1.landmarks).data.every((v, i) => v < interOcularDistance(b1.landmarks).data[i]))
  assert.deepEqual(cumulativeErrors([0.1, 0.2, 0.3, 0.4], [0.05, 0.2, 1]), [0, 0.5, 1])
})

test('runExperiment: both tasks evaluated on test and validation, TNDR per conv layer, progress and log records', async () => {
  const progress: number[] = []
  const logs: unknown[] = []
  const phases = new Map<string, [number, number][]>()
  const r = await runExperiment(tiny, {
    backend: cpuBackend(),
    onProgress: (p) => progress.push(p.etaSeconds),
    onPhase: (what, done, total) => phases.set(what, [...(phases.get(what) ?? []), [done, total]]),
    log: (rec) => logs.push(rec),
    record: { perImage: true, features: 4, traceNormsPerEpoch: true },
  })
  assert.deepEqual(
    r.runs.map((x) => x.run),
    ['single', 'laf+ada'],
  )
  for (const run of r.runs) {
    assert.ok(run.test.acc >= 0 && run.test.acc <= 1)
    assert.equal(
      run.test.confusion.flat().reduce((s, v) => s + v, 0),
      8,
    )
    assert.ok(run.test.nme > 0 && run.test.nmeIP.full > run.test.nme, 'inter-pupil NME exceeds inter-ocular')
    assert.equal(run.test.perImage?.io.length, 8)
    assert.ok(run.val && run.val.nme > 0)
    assert.equal(run.tndrLayers.length, 9)
    assert.equal(run.tndrEpochs?.length, 1)
    assert.equal(run.features?.expr.length, 4)
    assert.equal(run.features?.expr[0].length, 8)
  }
  assert.equal(progress.length, 4)
  assert.equal(progress.at(-1), 0)
  assert.equal(logs.length, 2)
  // data generation and evaluation report progress too, ending at done = total
  const faces = tiny.train + tiny.val + tiny.test
  assert.deepEqual(phases.get('generating faces')?.at(-1), [2 * faces, 2 * faces])
  assert.equal(phases.get('generating faces')?.length, 2 * faces)
  for (const run of ['single', 'laf+ada'])
    for (const split of ['test', 'val']) {
      const ticks = phases.get(`evaluating ${run} (${split})`)
      assert.ok(ticks && ticks.at(-1)?.[0] === ticks.at(-1)?.[1], `evaluating ${run} (${split}): ${JSON.stringify(ticks)}`)
    }
  assert.ok(r.baselines.meanShapeNme > 0 && r.baselines.chanceAcc === 1 / 13)
  // shared data must match the config it is used with
  await assert.rejects(
    runExperiment(tiny, { backend: cpuBackend(), data: makeExperimentData({ ...tiny, seed: 9 }) }),
    /other data settings/,
  )
})

test("runExperiment lets go of each run's final state once evaluated (cpu: WASM blocks donated); returned parameters stay readable", async () => {
  const cfg: ExperimentConfig = { ...tiny, width: 16, val: 0, runs: ['laf'] }
  const donated = (t: { data: unknown }) => {
    try {
      void t.data
      return false
    } catch (e) {
      assert.match(String(e), /was donated/)
      return true
    }
  }
  for (const keepParams of [false, true]) {
    const finals: any[] = []
    const r = await runExperiment(cfg, {
      backend: cpuBackend(),
      record: { params: keepParams },
      fit: async (i, fc) => {
        const out = await fit(i, fc)
        finals.push(out.state)
        return out
      },
    })
    assert.equal(finals.length, 1)
    const params = leaves(finals[0].params as Tree<{ data: unknown }>)
    const moments = leaves(finals[0].opt as Tree<{ data: unknown }>).filter((l) => typeof l === 'object' && 'data' in l)
    // Adam's moments are never returned: the large ones (resident in WASM memory) are gone in both cases
    assert.ok(moments.filter(donated).length >= 4, `${keepParams}: donated moments`)
    if (keepParams) {
      assert.equal(params.filter(donated).length, 0, 'returned parameters readable')
      assert.ok(Number.isFinite(leaves(r.runs[0].params!.params as unknown as Tree<HostTensor>)[0].data[0]))
    } else assert.ok(params.filter(donated).length >= 4, 'final parameters donated')
  }
})

test('withPretrainedTrunk: trunk from the pretrained network, head kept; a mismatched trunk is refused by name', () => {
  const pre = resnet.init(key(1), resnetLayouts.small(1, 13, 2)).params
  const fresh = resnet.init(key(2), resnetLayouts.small(1, 7, 2)).params
  const m = withPretrainedTrunk(fresh, pre)
  assert.equal(m.stem, pre.stem)
  assert.equal(m.stages, pre.stages)
  assert.equal(m.head, fresh.head)
  const wide = resnet.init(key(3), resnetLayouts.small(1, 7, 4)).params
  assert.throws(
    () => withPretrainedTrunk(wide, pre),
    /withPretrainedTrunk: stem\.conv\.\w+ has shape \[3,3,1,2\] in the pretrained network, expected \[3,3,1,4\]/,
  )
})
