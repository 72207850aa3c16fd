// Input checks, routes and small formulas of src/mtl that the value tests do not reach (written for the survivors of
// the src/mtl mutation run; see test/MUTATION.md).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { adaLoss, initDomainClassifier } from '../../src/mtl/ada.ts'
import { crossStitch, initCrossStitch } from '../../src/mtl/crossstitch.ts'
import {
  applyMultiTask,
  initMultiTask,
  lafPenalty,
  layerTraceNorms,
  type MultiTaskConfig,
  shareFirstLayers,
  traceNormPenalty,
} from '../../src/mtl/multitask.ts'
import { measureLayerTraceNorms, totalTndr, tndr } from '../../src/mtl/tndr.ts'
import { laf, stackTasks, tt, tucker } from '../../src/mtl/tracenorm.ts'
import { modeFold, modeUnfold, ttFold, ttUnfold } from '../../src/mtl/unfold.ts'
import { nuclearNorm } from '../../src/linalg/index.ts'
import { resnet, resnetLayouts } from '../../src/nn/resnet.ts'
import { add, key, normal, refBackend, runSync, split, type Tensor, tensor64 } from '../../src/index.ts'

const ref = refBackend()
const value = (t: Tensor): number => runSync(t, { backend: ref }).data[0]
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`)
/** Names of every primitive the graph of `t` reaches. */
const prims = (t: Tensor): Set<string> => {
  const seen = new Set<Tensor>()
  const names = new Set<string>()
  const visit = (u: Tensor) => {
    if (seen.has(u)) return
    seen.add(u)
    names.add(u.prim.name)
    u.inputs.forEach(visit)
  }
  visit(t)
  return names
}
const ws = (k: number, n: number, shape: number[]) => split(key(k), n).map((kk) => normal(kk, shape))

test('tndr / totalTndr: end over init per layer and in sum; NaN for a zero initial norm; mismatched lengths are named', async () => {
  assert.deepEqual(tndr([2, 4, 0], [1, 6, 3]), [0.5, 1.5, Number.NaN])
  assert.equal(totalTndr([2, 4], [1, 6]), 7 / 6)
  assert.throws(() => tndr([1, 2], [1]), { name: 'RangeError', message: 'tndr: 2 initial norms but 1 final ones' })
  assert.throws(() => totalTndr([1], [1, 2]), { message: 'tndr: 1 initial norms but 2 final ones' })
  const arch = { ...resnetLayouts.small(1, 2, 4), blocks: [1], widths: [4] }
  const { params } = initMultiTask(key(3), { tasks: [arch, arch], sharing: { kind: 'laf', gamma: 1 } })
  const got = await measureLayerTraceNorms(params.tasks, ref)
  const want = runSync(layerTraceNorms(params.tasks), { backend: ref }).map((t) => t.data[0])
  assert.deepEqual(got, want)
  assert.ok(got.length > 1 && got.every((v) => v > 0))
  const tuck = await measureLayerTraceNorms(params.tasks, ref, 'tucker')
  assert.deepEqual(
    tuck,
    runSync(layerTraceNorms(params.tasks, 'tucker'), { backend: ref }).map((t) => t.data[0]),
  )
})

test('stackTasks: no weights, or weights of one rank but other sizes, are named', () => {
  assert.throws(() => stackTasks([]), { message: 'stackTasks: needs at least one task weight' })
  assert.throws(() => stackTasks([tensor64([1, 2], [2]), tensor64([1, 2, 3], [3])]), {
    message: 'stackTasks: task weights differ in shape: [2] vs [3]',
  })
  assert.throws(() => stackTasks([tensor64([1, 2], [2, 1]), tensor64([1, 2], [1, 2])]), { message: /differ in shape: \[2,1\] vs \[1,2\]/ })
})

test('trace-norm weights γ: 0 allowed; negative, infinite, NaN, strings and wrong counts are named with the value', () => {
  const w = stackTasks(ws(1, 2, [3, 2]))
  assert.equal(value(tucker(w, 0)), 0)
  assert.equal(value(tt(w, [0, 0])), 0)
  close(value(tucker(w, [2, 0, 1])), 2 * value(nuclearNorm(modeUnfold(w, 0))) + value(nuclearNorm(ttUnfold(w, 2))), 'tucker [2, 0, 1]')
  const bad: [unknown, string][] = [
    [-1, '-1'],
    [Number.POSITIVE_INFINITY, 'null'],
    [Number.NaN, 'NaN'],
    ['a', "the string 'a'"],
    [[1, -1, 1], '[1,-1,1]'],
  ]
  for (const [g, shown] of bad) {
    assert.throws(() => tucker(w, g as number), { message: `tucker: expected 3 finite weights γ ≥ 0 (or one number), got ${shown}` })
    assert.throws(() => tt(w, g as number), { message: `tt: expected 2 finite weights γ ≥ 0 (or one number), got ${shown}` })
  }
  assert.throws(() => tucker(w, [1, 1]), { message: 'tucker: expected 3 finite weights γ ≥ 0 (or one number), got [1,1]' })
  assert.throws(() => tt(w, [1, 1, 1]), { message: 'tt: expected 2 finite weights γ ≥ 0 (or one number), got [1,1,1]' })
  assert.throws(() => laf(w, -2), { message: 'laf: γ must be one finite number ≥ 0, got -2' })
  assert.throws(() => laf(w, 'x' as unknown as number), { message: "laf: γ must be one finite number ≥ 0, got the string 'x'" })
  // tt takes N − 1 weights
  assert.doesNotThrow(() => tt(stackTasks(ws(2, 2, [2, 2])), [1, 1]))
})

test('laf / tucker / tt take rank-2 tensors and reject rank 1 naming the op; tucker/tt keys are checked and split per unfolding', () => {
  const m = normal(key(4), [4, 3])
  close(value(laf(m)), value(nuclearNorm(m)), 'laf of a matrix')
  close(value(tucker(m)), 2 * value(nuclearNorm(m)), 'tucker of a matrix')
  close(value(tt(m)), value(nuclearNorm(m)), 'tt of a matrix')
  for (const [f, name] of [
    [laf, 'laf: expects a stacked tensor of rank ≥ 2, got [3]'],
    [tucker, 'tucker: expects a tensor of rank ≥ 2, got [3]'],
    [tt, 'tt: expects a tensor of rank ≥ 2, got [3]'],
  ] as const)
    assert.throws(() => f(tensor64([1, 2, 3], [3])), { message: name })
  const w = normal(key(5), [6, 5, 4])
  assert.throws(() => tucker(w, 1, { method: 'randomized', rank: 1, key: 'k' as never }), /tucker: .*opts\.key/)
  assert.throws(() => tt(w, 1, { method: 'randomized', rank: 1, key: 'k' as never }), /tt: .*opts\.key/)
  // one independent sketch key per unfolding: the value is the sum of the per-unfolding randomized norms
  const o = { method: 'randomized', rank: 1, oversampling: 0, powerIters: 0 } as const
  const k = key(6)
  const kt = split(k, 3)
  const want = value(nuclearNorm(modeUnfold(w, 0), { ...o, key: kt[0] })) + value(nuclearNorm(modeUnfold(w, 1), { ...o, key: kt[1] }))
  close(value(tucker(w, 1, { ...o, key: k })), want + value(nuclearNorm(ttUnfold(w, 2), { ...o, key: kt[2] })), 'tucker, keys split')
  const k2 = split(k, 2)
  const wantTt = value(nuclearNorm(ttUnfold(w, 1), { ...o, key: k2[0] })) + value(nuclearNorm(ttUnfold(w, 2), { ...o, key: k2[1] }))
  close(value(tt(w, 1, { ...o, key: k })), wantTt, 'tt, keys split')
})

test('laf route: a stackTasks input is read in place (no concat in the graph) up to 32 tasks; other inputs and rank-truncated stacks are not', () => {
  const small = ws(7, 3, [2, 2])
  const direct = value(nuclearNorm(modeUnfold(stackTasks(small), 2)))
  for (const opts of [{}, { method: 'exact' as const }, { method: 'auto' as const, rank: 2 }]) {
    const y = laf(stackTasks(small), 1.5, opts)
    assert.ok(!prims(y).has('concat'), `in place for ${JSON.stringify(opts)}`)
    close(value(y), 1.5 * direct, `laf value ${JSON.stringify(opts)}`)
  }
  // a tensor that is not a stack (a leaf, a stack on another axis, a concat of other shapes) goes through the unfolding
  const leaf = normal(key(8), [2, 2, 3])
  close(value(laf(leaf)), value(nuclearNorm(modeUnfold(leaf, 2))), 'laf of a leaf')
  const s32 = stackTasks(ws(9, 32, [1, 2]))
  assert.ok(!prims(laf(s32)).has('concat'), '32 tasks: in place')
  const s33 = stackTasks(ws(9, 33, [1, 1]))
  assert.ok(prims(laf(s33)).has('concat'), '33 tasks: through the stack')
  // 9 tasks > thinMax with a rank: the truncated route over the stack (randomized needs the stacked matrix)
  const s9 = stackTasks(ws(10, 9, [3, 2]))
  assert.ok(prims(laf(s9, 1, { rank: 2, key: key(1) })).has('concat'), '9 tasks, rank 2: through the stack')
  assert.ok(!prims(laf(s9, 1, { rank: 2, thinMax: 9 })).has('concat'), '9 tasks, thinMax 9: in place')
  assert.ok(!prims(laf(s9, 1, { rank: 2, method: 'exact' })).has('concat'), "9 tasks, method 'exact': in place")
  assert.ok(!prims(laf(s9)).has('concat'), '9 tasks, no rank: in place')
})

test('unfold / fold: bad splits and matrices that are not the unfolding are named', () => {
  const w = normal(key(11), [2, 3, 4])
  assert.throws(() => ttUnfold(w, 3), { message: 'ttUnfold: split 3 must be in [1, 2] for a tensor of shape [2,3,4]' })
  assert.throws(() => ttUnfold(w, 0), /ttUnfold: split 0/)
  for (const bad of [
    [3, 8],
    [2, 12, 1],
    [2, 11],
  ])
    assert.throws(() => modeFold(normal(key(1), bad), 0, [2, 3, 4]), {
      message: `modeFold: matrix [${bad.join(',')}] is not the mode-0 unfolding of [2,3,4]`,
    })
  for (const bad of [
    [6, 5],
    [6, 4, 1],
    [5, 4],
  ])
    assert.throws(() => ttFold(normal(key(1), bad), 2, [2, 3, 4]), {
      message: `ttFold: matrix [${bad.join(',')}] is not the split-2 TT unfolding of [2,3,4]`,
    })
  const back = runSync(modeFold(modeUnfold(w, 2), 2, [2, 3, 4]), { backend: ref })
  assert.deepEqual([...back.data], [...runSync(w, { backend: ref }).data])
})

test('cross-stitch: init formula for three tasks; bad channels, self, activations and α shapes are named', () => {
  const a = initCrossStitch({ tasks: 3, channels: 2, self: 0.7 })
  const other = Math.fround(0.3 / 2)
  assert.deepEqual(
    [...a.data],
    [0.7, 0.7, other, other, other, other, other, other, 0.7, 0.7, other, other, other, other, other, other, 0.7, 0.7].map(Math.fround),
  )
  assert.throws(() => initCrossStitch({ tasks: 2, channels: 0 }), {
    message: 'initCrossStitch: tasks and channels must be positive integers, got tasks 2, channels 0',
  })
  assert.throws(() => initCrossStitch({ tasks: 2, channels: 2, self: Number.NaN }), {
    message: 'initCrossStitch: self must be a finite number, got NaN',
  })
  const x = normal(key(12), [1, 2])
  assert.throws(() => crossStitch(initCrossStitch({ tasks: 1, channels: 2 }), []), {
    message: 'crossStitch: needs at least one activation',
  })
  assert.throws(() => crossStitch(initCrossStitch({ tasks: 2, channels: 2 }), [x, normal(key(1), [2, 1])]), {
    message: 'crossStitch: activations differ in shape: [1,2] vs [2,1]',
  })
  for (const shape of [
    [2, 2],
    [3, 2, 2],
    [2, 3, 2],
    [2, 2, 3],
  ])
    assert.throws(() => crossStitch(normal(key(1), shape), [x, x]), {
      message: `crossStitch: alpha must be [2, 2, 2] for 2 activations of shape [1,2], got [${shape.join(',')}]`,
    })
})

test('adaLoss: domain labels are one-hot in the task index, rows in task order; gradReverse names a non-finite λ', () => {
  const cls = initDomainClassifier(key(13), { features: 4, domains: 2 })
  const r = adaLoss(cls, [normal(key(1), [2, 4]), normal(key(2), [3, 4])], 1)
  assert.deepEqual([...r.labels.data], [1, 0, 1, 0, 0, 1, 0, 1, 0, 1])
  assert.throws(() => adaLoss(cls, [normal(key(1), [2, 4]), normal(key(2), [3, 4])], Number.NaN), {
    name: 'RangeError',
    message: 'gradReverse: lambda must be a finite number, got NaN',
  })
})

const arch = (outputs: number) => ({ ...resnetLayouts.small(1, outputs, 4), blocks: [1], widths: [4] })

test('initMultiTask / shareFirstLayers / applyMultiTask: configuration errors are named', () => {
  const one = arch(2)
  assert.throws(() => initMultiTask(key(1), { tasks: [], sharing: { kind: 'single' } }), {
    message: 'initMultiTask: needs at least one task',
  })
  assert.throws(() => initMultiTask(key(1), { tasks: [one, { ...one, widths: [8] }], sharing: { kind: 'single' } }), {
    message: 'initMultiTask: task 1 has a different architecture from task 0 (only outputs may differ)',
  })
  for (const [kind, g] of [
    ['laf', -1],
    ['tucker', Number.NaN],
    ['tt', Number.POSITIVE_INFINITY],
  ] as const)
    assert.throws(() => initMultiTask(key(1), { tasks: [one, one], sharing: { kind, gamma: g } }), {
      message: `initMultiTask: ${kind} gamma must be a non-negative number, got ${g}`,
    })
  assert.doesNotThrow(() => initMultiTask(key(1), { tasks: [one, one], sharing: { kind: 'laf', gamma: 0 } }))
  assert.throws(() => initMultiTask(key(1), { tasks: [one], sharing: { kind: 'single' }, ada: { weight: 1, lambda: 1 } }), {
    message: 'initMultiTask: ADA needs at least 2 tasks',
  })
  const c: MultiTaskConfig = { tasks: [one, arch(3)], sharing: { kind: 'single' } }
  const { params, state } = initMultiTask(key(2), c)
  let layers = 0
  shareFirstLayers(params.tasks, 0)
  for (const k of [-1, 1.5, 100])
    assert.throws(
      () => shareFirstLayers(params.tasks, k),
      (e: Error) => {
        const m = /^shareFirstLayers: layers must be an integer in \[0, (\d+)\], got (.*)$/.exec(e.message)
        layers = Number(m?.[1])
        return m !== null && m[2] === String(k)
      },
    )
  assert.doesNotThrow(() => shareFirstLayers(params.tasks, layers))
  assert.throws(() => shareFirstLayers(params.tasks, layers + 1), /layers must be an integer/)
  const x = normal(key(3), [1, 8, 8, 1])
  assert.throws(() => applyMultiTask(c, params, [x], state, { training: false }), {
    message: 'applyMultiTask: 1 input batches for 2 tasks',
  })
  assert.throws(() => applyMultiTask({ ...c, sharing: { kind: 'cross-stitch' } }, params, [x, x], state, { training: false }), {
    message: 'applyMultiTask: cross-stitch sharing needs params.stitch (from initMultiTask)',
  })
})

test('applyMultiTask: trace norm only when training with γ > 0; ADA uses its λ (schedule at progress 1 by default) and the pooled features', () => {
  const c: MultiTaskConfig = { tasks: [arch(2), arch(3)], sharing: { kind: 'laf', gamma: 0.5 }, ada: { weight: 1, lambda: 'schedule' } }
  const { params, state } = initMultiTask(key(4), c)
  const [ka, kb] = split(key(5))
  const xs = [normal(ka, [2, 8, 8, 1]), normal(kb, [1, 8, 8, 1])]
  const f = applyMultiTask(c, params, xs, state, { training: true })
  assert.ok(f.traceNorm && f.ada)
  close(value(f.traceNorm), value(traceNormPenalty(params.tasks, 'laf', 0.5)), 'γ·Σ laf')
  assert.equal(f.ada.lambda, 2 / (1 + Math.exp(-10)) - 1)
  assert.equal(applyMultiTask(c, params, xs, state, { training: true, progress: 0 }).ada?.lambda, 0)
  assert.deepEqual([...f.ada.labels.data], [1, 0, 1, 0, 0, 1])
  assert.deepEqual(
    f.features.map((t) => t.shape),
    [
      [2, 4],
      [1, 4],
    ],
  )
  assert.equal(f.outs.length, 2)
  assert.equal(f.state.tasks.length, 2)
  assert.equal(applyMultiTask(c, params, xs, state, { training: false }).traceNorm, undefined)
  const zero = { ...c, sharing: { kind: 'laf', gamma: 0 } } as const
  assert.equal(applyMultiTask(zero, params, xs, state, { training: true }).traceNorm, undefined)
  const fixed = { ...c, ada: { weight: 1, lambda: 0.25 } }
  assert.equal(applyMultiTask(fixed, params, xs, state, { training: true }).ada?.lambda, 0.25)
  // without the domain classifier there is no ADA term, and without ADA config neither
  assert.equal(applyMultiTask(fixed, { tasks: params.tasks }, xs, state, { training: true }).ada, undefined)
  assert.equal(applyMultiTask({ ...c, ada: undefined }, params, xs, state, { training: true }).ada, undefined)
  // layerTraceNorms splits a key into one per layer for the randomized routes
  const k = key(6)
  const o = { method: 'randomized', rank: 1, oversampling: 0, powerIters: 0 } as const
  const per = layerTraceNorms(params.tasks, 'tucker', { ...o, key: k })
  const keys = split(k, per.length)
  const convs = params.tasks.map((p) => resnet.convWeights(p))
  per.forEach((n, l) => {
    close(value(n), value(tucker(stackTasks(convs.map((w) => w[l])), 1, { ...o, key: keys[l] })), `layer ${l}`)
  })
  close(value(traceNormPenalty(params.tasks, 'laf', 2)), 2 * value(layerTraceNorms(params.tasks).reduce((a, b) => add(a, b))), 'penalty')
})

/** The shapes of every tensor in a state tree (same structure, tensors replaced by their shapes). */
const shapes = (v: unknown): unknown =>
  v && typeof v === 'object'
    ? 'shape' in v && Array.isArray((v as { shape: unknown }).shape)
      ? (v as { shape: number[] }).shape
      : Array.isArray(v)
        ? v.map(shapes)
        : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapes(x)]))
    : v

test('applyMultiTask: hard sharing of every layer gives one feature map for one input; cross-stitch returns the full state of every task', () => {
  const tasks = [arch(2), arch(3)]
  const { params, state } = initMultiTask(key(7), { tasks, sharing: { kind: 'single' } })
  const layers = resnet.convWeights(params.tasks[0]).length
  const x = normal(key(8), [2, 8, 8, 1])
  const hard = applyMultiTask({ tasks, sharing: { kind: 'hard', layers } }, params, [x, x], state, { training: false })
  const [fa, fb] = runSync(hard.features, { backend: ref })
  assert.deepEqual([...fb.data], [...fa.data])
  const own = applyMultiTask({ tasks, sharing: { kind: 'single' } }, params, [x, x], state, { training: false })
  const [ga, gb] = runSync(own.features, { backend: ref })
  assert.notDeepEqual([...gb.data], [...ga.data])
  const cs: MultiTaskConfig = { tasks, sharing: { kind: 'cross-stitch' } }
  const init = initMultiTask(key(9), cs)
  const f = applyMultiTask(cs, init.params, [x, x], init.state, { training: true })
  const single = resnet.apply(init.params.tasks[1], x, init.state.tasks[1], { training: true, config: tasks[1] }).state
  assert.deepEqual(shapes(f.state.tasks[1]), shapes(single))
  assert.equal(f.state.tasks[1].stages.length, tasks[1].widths.length)
  close(value(lafPenalty(params.tasks, 0.5)), value(traceNormPenalty(params.tasks, 'laf', 0.5)), 'lafPenalty')
})

test('cross-stitch and stackTasks edge shapes: one channel; activations of another rank; α of rank 4; weights that differ in one axis', () => {
  assert.deepEqual([...initCrossStitch({ tasks: 2, channels: 1 }).data], [0.9, 0.1, 0.1, 0.9].map(Math.fround))
  const x = normal(key(1), [1, 2, 3])
  assert.throws(() => crossStitch(initCrossStitch({ tasks: 2, channels: 3 }), [x, normal(key(2), [1, 2])]), {
    message: 'crossStitch: activations differ in shape: [1,2,3] vs [1,2]',
  })
  assert.throws(() => crossStitch(normal(key(3), [2, 2, 3, 1]), [x, x]), {
    message: 'crossStitch: alpha must be [2, 2, 3] for 2 activations of shape [1,2,3], got [2,2,3,1]',
  })
  assert.throws(() => stackTasks([normal(key(4), [2, 3]), normal(key(5), [2, 4])]), { message: /differ in shape: \[2,3\] vs \[2,4\]/ })
})
