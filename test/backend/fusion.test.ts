import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Backend, KernelCall } from '../../src/index.ts'
import * as ops from '../../src/index.ts'
import { testGpu } from '../harness.ts'
import { fuseElementwise } from '../../src/graph/fuse.ts'
import { topoSort } from '../../src/graph/graph.ts'

/** Wraps a backend, recording the op of every kernel call. */
const counting = <B>(be: Backend<B>): Backend<B> & { calls: string[] } => {
  const calls: string[] = []
  return {
    ...be,
    calls,
    exec: (call: KernelCall, ins: readonly B[]) => {
      calls.push(call.op)
      return be.exec(call, ins)
    },
  }
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  assert.equal(a.length, b.length)
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `index ${i}: ${a[i]} vs ${b[i]}`)
}

test('a single-consumer elementwise chain runs as one fused kernel with the same values', async () => {
  const k = ops.key(3)
  const [k1, k2] = ops.split(k)
  const x = ops.normal(k1, [4, 5])
  const y = ops.normal(k2, [5])
  const f = ops.tanh(ops.mul(ops.add(x, y), ops.sigmoid(ops.sub(x, 1))))
  const be = counting(testGpu())
  const fused = await ops.run(f, { backend: be })
  assert.deepEqual(be.calls, ['fused'])
  const plain = counting(testGpu())
  const unfused = await ops.run(f, { backend: plain, fuse: false })
  assert.equal(plain.calls.length, 5)
  const want = ops.runSync(f, { backend: ops.refBackend() })
  close(fused.data, want.data)
  close(unfused.data, want.data)
})

test('fusion keeps requested intermediates, multi-consumer nodes and shape changes as separate kernels', () => {
  const x = ops.constant(ops.tensor([1, 2, 3, 4], [2, 2]))
  const a = ops.exp(x) // two consumers: stays
  const b = ops.add(a, 1) // requested output: stays
  const c = ops.mul(ops.neg(a), ops.sum(a, [1], true)) // neg is absorbed into mul; sum is not elementwise
  const d = ops.relu(ops.sub(c, b))
  const order = topoSort([b, d])
  const { order: fusedOrder, remap } = fuseElementwise(order, new Set([b, d]))
  const names = fusedOrder.filter((t) => t.inputs.length > 0).map((t) => t.prim.name)
  assert.deepEqual(names, ['exp', 'add', 'sum', 'reshape', 'fused'])
  const dd = remap.get(d)!
  // relu(sub(c, b)) with c absorbed: steps neg, mul, sub, relu
  assert.deepEqual(
    (dd.attrs.steps as { expr: string }[]).map((s) => s.expr),
    ['-a', 'a * b', 'a - b', 'Math.max(a, 0.0)'],
  )
})

test('fused gradients match ref (a training-like step: dense layer, sigmoid cross-entropy)', async () => {
  const [k1, k2, k3] = ops.split(ops.key(7), 3)
  const w = ops.normal(k1, [6, 3])
  const xs = ops.normal(k2, [8, 6])
  const t = ops.uniform(k3, [8, 3])
  const loss = (p: { w: ops.Tensor }) => {
    const z = ops.matmul(ops.constant(xs), p.w)
    const pr = ops.sigmoid(z)
    return ops.mean(ops.neg(ops.add(ops.mul(t, ops.log(pr)), ops.mul(ops.sub(1, t), ops.log(ops.sub(1, pr))))))
  }
  const { value, grad } = ops.valueAndGrad(loss)({ w })
  const be = counting(testGpu())
  const [v, g] = await ops.run([value, grad.w], { backend: be })
  const [rv, rg] = ops.runSync([value, grad.w], { backend: ops.refBackend() })
  assert.ok(be.calls.includes('fused'))
  close(v.data, rv.data, 1e-4)
  close(g.data, rg.data, 1e-4)
})
