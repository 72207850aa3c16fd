import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Backend, KernelCall, Tensor } from '../../src/index.ts'
import * as ops from '../../src/index.ts'

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

const keys = (n: number) => {
  const out = []
  let k = ops.key(11)
  for (let i = 0; i < n; i++) {
    const [a, b] = ops.split(k)
    out.push(b)
    k = a
  }
  return out
}

test('cpu fused chains over full, scalar, per-channel, two periods and general broadcasts match ref', () => {
  const [k1, k2, k3, k4, k5, k6] = keys(6)
  const x = ops.normal(k1, [3, 4, 5, 6])
  const c = ops.normal(k2, [6]) // period 6
  const hw = ops.normal(k3, [1, 5, 6]) // period 30: a second period length
  const nb = ops.normal(k4, [3, 1, 1, 1]) // not a suffix block: gathered
  const g = ops.normal(k5, [1, 1, 1, 6])
  const s = ops.normal(k6, [1])
  const f = ops.relu(ops.add(ops.mul(ops.sub(ops.mul(x, c), hw), g), ops.mul(nb, s)))
  const be = counting(ops.cpuBackend())
  const got = ops.runSync(f, { backend: be })
  assert.ok(be.calls.includes('fused'), `calls: ${be.calls.join(', ')}`)
  close(got.data, ops.runSync(f, { backend: ops.refBackend() }).data)
})

test('cpu batch norm forward and backward with fusion match ref and the unfused run', () => {
  const [k1, k2, k3, k4] = keys(4)
  const x = ops.normal(k1, [2, 5, 5, 8])
  const gamma = ops.normal(k2, [8])
  const beta = ops.normal(k3, [8])
  const dy = ops.normal(k4, [2, 5, 5, 8])
  const loss = (p: { x: Tensor; gamma: Tensor; beta: Tensor }) => {
    const m = ops.moments(p.x, [0, 1, 2])
    return ops.sum(ops.mul(ops.relu(ops.batchNormMath(p.x, m.mean, m.variance, p.gamma, p.beta)), dy))
  }
  const { value, grad } = ops.valueAndGrad(loss)({ x, gamma, beta } as any)
  const be = counting(ops.cpuBackend())
  const got = ops.runSync({ value, grad }, { backend: be }) as any
  assert.ok(be.calls.filter((o) => o === 'fused').length >= 2, `calls: ${be.calls.join(', ')}`)
  const want = ops.runSync({ value, grad }, { backend: ops.refBackend() }) as any
  const plain = ops.runSync({ value, grad }, { backend: ops.cpuBackend(), fuse: false }) as any
  for (const r of [got, plain]) {
    close(r.value.data, want.value.data, 1e-4)
    for (const k of ['x', 'gamma', 'beta']) close(r.grad[k].data, want.grad[k].data, 1e-4)
  }
})

test('cpu maxPool forward and backward match ref, ties and padding included', () => {
  const vals = Array.from({ length: 2 * 7 * 6 * 3 }, (_, i) => ((i * 7919) % 5) - 2) // many ties
  const x = ops.tensor(vals, [2, 7, 6, 3])
  const dy = ops.normal(ops.key(5), [2, 4, 3, 3])
  for (const [size, strides, padding] of [
    [3, 2, 'same'],
    [2, 2, 'valid'],
    [3, 1, 'same'],
  ] as const) {
    const y = ops.maxPool(x, { size, strides, padding })
    const { vjp } = ops.vjp((t: Tensor) => ops.maxPool(t, { size, strides, padding }), x)
    const cot = ops.broadcastTo(ops.reshape(ops.sum(dy), [1, 1, 1, 1]), y.shape)
    const outs = { y, dx: vjp(ops.add(cot, ops.onesLike(y))) }
    const got = ops.runSync(outs, { backend: ops.cpuBackend() }) as any
    const want = ops.runSync(outs, { backend: ops.refBackend() }) as any
    close(got.y.data, want.y.data)
    close(got.dx.data, want.dx.data)
  }
})

test('cpu buffer pool: reruns on one backend give equal results and never overwrite results already read', () => {
  const [k1, k2] = keys(2)
  const x = ops.normal(k1, [4, 6, 6, 8])
  const c = ops.normal(k2, [8])
  const f = (t: Tensor) => ops.sum(ops.relu(ops.mul(ops.add(t, c), ops.maxPool(t, { size: 3, strides: 1, padding: 'same' }))))
  const { out, vjp } = ops.vjp(f, x)
  const g = vjp(ops.onesLike(out))
  const mid = ops.relu(ops.add(x, c)) // a requested elementwise output: read, so it must stay ours
  const be = ops.cpuBackend()
  const first = ops.runSync({ out, g, mid }, { backend: be }) as any
  const snapshot = { g: Float32Array.from(first.g.data), mid: Float32Array.from(first.mid.data) }
  for (let i = 0; i < 3; i++) {
    const again = ops.runSync({ out, g, mid }, { backend: be }) as any
    assert.deepEqual(Float32Array.from(again.g.data), snapshot.g)
    assert.deepEqual(Float32Array.from(again.mid.data), snapshot.mid)
  }
  assert.deepEqual(Float32Array.from(first.g.data), snapshot.g)
  assert.deepEqual(Float32Array.from(first.mid.data), snapshot.mid)
  const want = ops.runSync({ out, g }, { backend: ops.refBackend() }) as any
  close(first.g.data, want.g.data, 1e-4)
})

test('bufferPool recycles only its own, unexported buffers, within its cap', async () => {
  const { bufferPool } = await import('../../src/backend/cpu/pool-alloc.ts')
  const p = bufferPool(64)
  const a = p.alloc(8)
  p.release(a)
  assert.equal(p.alloc(8), a)
  const b = p.alloc(8)
  p.exported(b)
  p.release(b)
  assert.notEqual(p.alloc(8), b)
  const foreign = new Float32Array(8)
  p.release(foreign)
  assert.notEqual(p.alloc(8), foreign)
  const big = p.alloc(32) // 128 bytes: over the 64-byte cap, dropped
  p.release(big)
  assert.notEqual(p.alloc(32), big)
  assert.deepEqual(p.stats().freeBytes, 0)
})

test('cpu relu and comparisons (branch-free forms) keep the edge values of ref', () => {
  const special = [Number.NEGATIVE_INFINITY, -2, -0, 0, 1.5, Number.POSITIVE_INFINITY, Number.NaN]
  const a = ops.tensor(
    special.flatMap((u) => special.map(() => u)),
    [7, 7],
  )
  const b = ops.tensor(
    special.flatMap(() => special),
    [7, 7],
  )
  const outs = { relu: ops.relu(a), gt: ops.greater(a, b), lt: ops.less(a, b), fused: ops.mul(ops.relu(a), ops.greater(a, b)) }
  const got = ops.runSync(outs, { backend: ops.cpuBackend() }) as any
  const want = ops.runSync(outs, { backend: ops.refBackend() }) as any
  for (const k of Object.keys(outs))
    got[k].data.forEach((v: number, i: number) => {
      assert.ok(Object.is(v, want[k].data[i]), `${k}[${i}]: ${v} vs ${want[k].data[i]}`)
    })
})
