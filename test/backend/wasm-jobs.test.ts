/**
 * How the WASM matmul splits work over threads (jobs recorded through a runtime wrapper): every output row or column
 * in exactly one job, parts aligned to the register tile and at least 32 long, about three per thread, small products
 * on one job each; and the values still equal the host product.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { matmulWasm } from '../../src/backend/cpu/wasm/kernels.ts'
import { createWasmRuntime, type Job, OP, type WasmRuntime } from '../../src/backend/cpu/wasm/runtime.ts'
import * as ss from '../../src/index.ts'

/** A runtime with `t` threads whose workers are all up, and the job lists of every `parallel` call through it. */
const recording = async (t: number) => {
  const rt = createWasmRuntime(t)
  for (let i = 0; i < 300 && rt.threads() < t; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(rt.threads(), t)
  const calls: Job[][] = []
  const rec: WasmRuntime = {
    ...rt,
    parallel: (jobs, localBytes) => {
      calls.push(jobs.map((j) => [...j] as unknown as Job))
      rt.parallel(jobs, localBytes)
    },
  }
  return { rec, calls }
}

const product = (m: number, k: number, n: number, batch = 1) => {
  const a = Float32Array.from(ss.normalArray(ss.key(m * 7 + n), batch * m * k))
  const b = Float32Array.from(ss.normalArray(ss.key(k * 5 + 1), batch * k * n))
  const want = new Float64Array(batch * m * n)
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++)
        for (let j = 0; j < n; j++) want[t * m * n + i * n + j] += a[t * m * k + i * k + p] * b[t * k * n + p * n + j]
  return { a, b, want }
}

const close = (got: Float32Array, want: Float64Array) => {
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])), `at ${i}: ${got[i]} vs ${want[i]}`)
}

/** [start, end) of each job's rows (`axis` 'm': from C's row offset) or columns ('n'), in job order. */
const ranges = (jobs: Job[], axis: 'm' | 'n', ldc: number): [number, number][] => {
  const c0 = jobs[0][10]
  return jobs.map((j) => {
    assert.equal(j[0], OP.gemm)
    const start = axis === 'm' ? (j[10] - c0) / (4 * ldc) : (j[10] - c0) / 4
    return [start, start + (axis === 'm' ? j[1] : j[2])]
  })
}

/** Consecutive parts covering 0..total once, each a multiple of `align` and ≥ `min` but the last, at most 3·t + 1 of them. */
const tiles = (rs: [number, number][], total: number, align: number, min: number, t: number) => {
  assert.equal(rs[0][0], 0)
  assert.equal(rs[rs.length - 1][1], total)
  rs.forEach(([s, e], i) => {
    if (i > 0) assert.equal(s, rs[i - 1][1], `part ${i} starts where part ${i - 1} ends`)
    if (i < rs.length - 1) {
      assert.equal((e - s) % align, 0, `part ${i} (${s}..${e}) is a multiple of ${align}`)
      assert.ok(e - s >= min, `part ${i} (${s}..${e}) is at least ${min} long`)
    }
  })
  assert.ok(rs.length > 1 && rs.length <= 3 * t + 1, `${rs.length} parts for ${t} threads`)
}

test('wasm matmul over 3 threads: tall outputs split by rows (multiples of 4, ≥ 32), wide ones by columns (multiples of 8), values unchanged', async () => {
  const { rec, calls } = await recording(3)
  // tall: 2·m·n·k = 4.9 M flops ≥ 2^22, m ≥ n
  const tall = product(300, 128, 64)
  close(matmulWasm(tall.a, tall.b, [300, 128], false, false, [300, 64], rec), tall.want)
  assert.equal(calls.length, 1)
  tiles(ranges(calls[0], 'm', 64), 300, 4, 32, 3)
  assert.equal(calls[0].length, 9, 'rows 0..300 in parts of 36: about three per thread')
  // square (m = n) at 2^22 flops: by rows
  calls.length = 0
  const square = product(128, 128, 128)
  close(matmulWasm(square.a, square.b, [128, 128], false, false, [128, 128], rec), square.want)
  tiles(ranges(calls[0], 'm', 128), 128, 4, 32, 3)
  // wide: m < n
  calls.length = 0
  const wide = product(8, 300, 2000)
  close(matmulWasm(wide.a, wide.b, [8, 300], false, false, [8, 2000], rec), wide.want)
  assert.equal(calls.length, 1)
  tiles(ranges(calls[0], 'n', 2000), 2000, 8, 32, 3)
  for (const j of calls[0]) assert.equal(j[1], 8, 'every column part has all rows')
})

test('wasm matmul: below 2^22 flops one job; many small products one job each, in one parallel call', async () => {
  const { rec, calls } = await recording(3)
  // 2·m·n·k = 2^22 − 2·64·… just below the threshold: one job on the caller
  const small = product(64, 255, 128)
  close(matmulWasm(small.a, small.b, [64, 255], false, false, [64, 128], rec), small.want)
  assert.deepEqual(
    calls.map((c) => c.length),
    [1],
  )
  assert.deepEqual(calls[0][0].slice(0, 4), [OP.gemm, 64, 128, 255])
  // at exactly 2^22 flops the product is split
  calls.length = 0
  const edge = product(64, 256, 128)
  close(matmulWasm(edge.a, edge.b, [64, 256], false, false, [64, 128], rec), edge.want)
  assert.ok(calls[0].length > 1, `${calls[0].length} jobs at 2^22 flops`)
  // six small products (batch ≥ threads): six jobs in one call
  calls.length = 0
  const many = product(5, 6, 7, 6)
  close(matmulWasm(many.a, many.b, [6, 5, 6], false, false, [6, 5, 7], rec), many.want)
  assert.deepEqual(
    calls.map((c) => c.length),
    [6],
  )
  for (const [i, j] of calls[0].entries()) assert.equal(j[10] - calls[0][0][10], 4 * i * 5 * 7, `product ${i}'s output offset`)
  // three small products (batch = threads): still one call
  calls.length = 0
  const three = product(5, 6, 7, 3)
  close(matmulWasm(three.a, three.b, [3, 5, 6], false, false, [3, 5, 7], rec), three.want)
  assert.deepEqual(
    calls.map((c) => c.length),
    [3],
  )
  // two small products (batch < threads): one call per product
  calls.length = 0
  const two = product(5, 6, 7, 2)
  close(matmulWasm(two.a, two.b, [2, 5, 6], false, false, [2, 5, 7], rec), two.want)
  assert.deepEqual(
    calls.map((c) => c.length),
    [1, 1],
  )
})

test('wasm matmul on one thread: one job whatever the size', async () => {
  const { rec, calls } = await recording(1)
  const tall = product(300, 128, 64)
  close(matmulWasm(tall.a, tall.b, [300, 128], false, false, [300, 64], rec), tall.want)
  assert.deepEqual(
    calls.map((c) => c.length),
    [1],
  )
})
