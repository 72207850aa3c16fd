import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseQuickstart, presets } from '../../examples/quickstart-config.ts'
import { crossStitch, initCrossStitch } from '../../src/mtl/crossstitch.ts'
import { applyMultiTask, initMultiTask, layerTraceNorms, type MultiTaskConfig, traceNormPenalty } from '../../src/mtl/multitask.ts'
import { stackTasks, tt, tucker } from '../../src/mtl/tracenorm.ts'
import { resnet, resnetLayouts } from '../../src/nn/resnet.ts'
import { add, grad, key, normal, refBackend, runSync, split, sum, type HostTensor } from '../../src/index.ts'

const arch = (outputs: number) => ({ ...resnetLayouts.small(1, outputs, 4), blocks: [1, 1], widths: [4, 8] })
const ref = refBackend()
const inputs = (k: number, n = 3) => {
  const [ka, kb] = split(key(k))
  return [normal(ka, [n, 8, 8, 1]), normal(kb, [n, 8, 8, 1], 0.5, 1.5)]
}

test('initCrossStitch: [[0.9, 0.1], [0.1, 0.9]] per channel for two tasks; identity for one', () => {
  const a = initCrossStitch({ tasks: 2, channels: 3 })
  assert.deepEqual(a.shape, [2, 2, 3])
  assert.deepEqual(
    Array.from(a.data, (v) => Math.round(v * 100) / 100),
    [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9],
  )
  assert.deepEqual(Array.from(initCrossStitch({ tasks: 1, channels: 2 }).data), [1, 1])
  assert.throws(
    () => initCrossStitch({ tasks: 0, channels: 2 }),
    /initCrossStitch: tasks and channels must be positive integers, got tasks 0/,
  )
})

test('crossStitch: mixes per channel, and names the op and shapes on bad input', () => {
  const a = initCrossStitch({ tasks: 2, channels: 2, self: 0.75 })
  const xa = normal(key(1), [2, 3, 2])
  const xb = normal(key(2), [2, 3, 2])
  const [ya, yb] = runSync(crossStitch(a, [xa, xb]), { backend: ref }) as HostTensor[]
  xa.data.forEach((v, i) => {
    assert.ok(Math.abs(ya.data[i] - (0.75 * v + 0.25 * xb.data[i])) < 1e-6)
    assert.ok(Math.abs(yb.data[i] - (0.25 * v + 0.75 * xb.data[i])) < 1e-6)
  })
  assert.throws(() => crossStitch(a, [xa, normal(key(3), [2, 3, 3])]), /crossStitch: activations differ in shape: \[2,3,2\] vs \[2,3,3\]/)
  assert.throws(
    () => crossStitch(initCrossStitch({ tasks: 2, channels: 5 }), [xa, xb]),
    /crossStitch: alpha must be \[2, 2, 2\] .* got \[2,2,5\]/,
  )
})

test('cross-stitch with α = identity reproduces the single-task networks exactly; near identity it mixes them', () => {
  const cs: MultiTaskConfig = { tasks: [arch(3), arch(2)], sharing: { kind: 'cross-stitch' } }
  const init = initMultiTask(key(5), cs)
  assert.equal(init.params.stitch?.length, 3) // after the stem and after each of the 2 stages
  const xs = inputs(6)
  const identity = init.params.stitch?.map((a) => initCrossStitch({ tasks: 2, channels: a.shape[2], self: 1 })) ?? []
  const single = applyMultiTask({ ...cs, sharing: { kind: 'single' } }, { tasks: init.params.tasks }, xs, init.state, { training: true })
  const stitched = applyMultiTask(cs, { ...init.params, stitch: identity }, xs, init.state, { training: true })
  const mixed = applyMultiTask(cs, init.params, xs, init.state, { training: true })
  const [s0, s1, i0, i1, m0] = runSync([...single.outs, ...stitched.outs, mixed.outs[0]], { backend: ref }) as HostTensor[]
  assert.deepEqual(Array.from(i0.data), Array.from(s0.data))
  assert.deepEqual(Array.from(i1.data), Array.from(s1.data))
  assert.ok(
    m0.data.some((v, i) => Math.abs(v - s0.data[i]) > 1e-6),
    'α = 0.9 I + 0.1 (1 − I) changes task 0 outputs',
  )
})

test('cross-stitch: every α gets a finite, non-zero gradient from both task losses', () => {
  const cs: MultiTaskConfig = { tasks: [arch(3), arch(2)], sharing: { kind: 'cross-stitch' } }
  const init = initMultiTask(key(7), cs)
  const xs = inputs(8)
  const g = grad((stitch: HostTensor[]) => {
    const f = applyMultiTask(cs, { ...init.params, stitch }, xs, init.state, { training: true })
    return add(sum(f.outs[0]), sum(f.outs[1]))
  })(init.params.stitch as HostTensor[])
  const gs = runSync(g, { backend: ref }) as HostTensor[]
  gs.forEach((t, u) => {
    assert.ok(t.data.every(Number.isFinite), `unit ${u}: finite`)
    assert.ok(
      t.data.some((v) => Math.abs(v) > 1e-8),
      `unit ${u}: non-zero`,
    )
  })
})

test('traceNormPenalty: the norm is a parameter (γ Σ_layers tucker / tt of the stacked conv weights)', () => {
  const { params } = initMultiTask(key(9), { tasks: [arch(3), arch(2)], sharing: { kind: 'single' } })
  const ws = params.tasks.map((p) => resnet.convWeights(p))
  const stacked = ws[0].map((_, l) => stackTasks(ws.map((w) => w[l])))
  for (const [name, f] of [['tucker', tucker] as const, ['tt', tt] as const]) {
    const direct = stacked.map((s) => f(s)).reduce((a, b) => add(a, b))
    const [got, want] = runSync([traceNormPenalty(params.tasks, name, 0.5), direct], { backend: ref }) as HostTensor[]
    assert.ok(Math.abs(got.data[0] - 0.5 * want.data[0]) < 1e-9 * want.data[0], `${name}: ${got.data[0]} vs ${0.5 * want.data[0]}`)
  }
  const [laf, tk] = runSync([traceNormPenalty(params.tasks, 'laf', 1), traceNormPenalty(params.tasks, 'tucker', 1)], {
    backend: ref,
  }) as HostTensor[]
  assert.ok(tk.data[0] > laf.data[0], 'Tucker sums 5 unfoldings, LAF one')
})

test('tucker / tt sharing: randomized unfoldings need the per-step key; with it the penalty reaches every conv weight', () => {
  // at width 4–8 every unfolding is small enough for 'auto' to go exact, so force the randomized route (rank 2 + 1 oversampling)
  const c: MultiTaskConfig = {
    tasks: [arch(3), arch(2)],
    sharing: { kind: 'tt', gamma: 0.1, svd: { method: 'randomized', rank: 2, oversampling: 1 } },
  }
  const init = initMultiTask(key(10), c)
  const xs = inputs(11)
  assert.throws(() => applyMultiTask(c, init.params, xs, init.state, { training: true }), /randomized SVD needs an explicit PRNG key/)
  assert.equal(applyMultiTask(c, init.params, xs, init.state, { training: false }).traceNorm, undefined, 'evaluation builds no penalty')
  const g = grad((tasks: typeof init.params.tasks) => {
    const f = applyMultiTask(c, { tasks }, xs, init.state, { training: true, key: key(12) })
    assert.ok(f.traceNorm)
    return f.traceNorm
  })(init.params.tasks)
  const gw = runSync(
    g.flatMap((p) => resnet.convWeights(p)),
    { backend: ref },
  ) as HostTensor[]
  gw.forEach((t, i) => {
    assert.ok(t.data.every(Number.isFinite) && t.data.some((v) => v !== 0), `conv ${i}: finite, non-zero`)
  })
  // different sketch keys, different truncations: the key matters (it is not silently ignored)
  const at = (k: number) =>
    (
      runSync([applyMultiTask(c, init.params, xs, init.state, { training: true, key: key(k) }).traceNorm as never], {
        backend: ref,
      })[0] as HostTensor
    ).data[0]
  assert.notEqual(at(12), at(13))
  const exact = runSync(layerTraceNorms(init.params.tasks, 'tt'), { backend: ref }) as HostTensor[]
  assert.ok(at(12) <= 0.1 * exact.reduce((s, t) => s + t.data[0], 0) + 1e-9, 'a rank-2 truncation never exceeds the exact norm')
})

test('quickstart --runs: the Table 4 names parse; a bad one lists the allowed values; default runs stay within budget', () => {
  const ok = parseQuickstart(['--runs', 'single,hard,cross-stitch,laf,tucker,tt,tucker+ada,tt+ada', '--svd-rank', '8'])
  assert.ok(ok.ok)
  if (ok.ok) assert.deepEqual(ok.config.runs, ['single', 'hard', 'cross-stitch', 'laf', 'tucker', 'tt', 'tucker+ada', 'tt+ada'])
  if (ok.ok) assert.equal(ok.config.svdRank, 8)
  const bad = parseQuickstart(['--runs', 'laf,tuker'])
  assert.ok(!bad.ok)
  if (!bad.ok)
    assert.deepEqual(bad.errors, [
      '--runs: expected a comma-separated list of single, single+ada, hard, hard+ada, cross-stitch, cross-stitch+ada, laf, laf+ada, tucker, tucker+ada, tt, tt+ada, got "laf,tuker"',
    ])
  assert.deepEqual(presets.default.runs, ['single', 'laf', 'laf+ada'])
})
