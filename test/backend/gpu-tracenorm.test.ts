/**
 * Tucker and TT on the device (WebGPU): the tiled double-float `gram` of any K against a float64 Gram, and a training
 * step of each whose only read-backs are the K × K / l × l factorisations (the host eigh of a Gram's hi + lo, the
 * Cholesky factors of the randomized SVD's panels, an l × l eigh above 16) and the requested outputs; their
 * subgradients against cpu. Without `navigator.gpu` this file re-runs itself under the software adapter.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import type { MultiTaskConfig } from '../../src/mtl/multitask.ts'
import { largestReadBetween } from '../../src/backend/gpu/index.ts'
import { gramHost } from '../../src/tensor/dense.ts'
import { readbackState, releaseState } from '../../src/train/index.ts'
import { hasDevice, rerunOnSoftwareAdapter, twoTask } from './webgpu-helpers.ts'

const tol = { rtol: 1e-3, atol: 1e-3 }

/** Index of the first entry of `got` outside checkParity's tolerance around `want` (−1: none). */
const firstMismatch = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
  let mag = 0
  for (let i = 0; i < want.length; i++) mag = Math.max(mag, Math.abs(want[i]))
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i] - want[i]) <= tol.atol * Math.max(1, mag) + tol.rtol * Math.abs(want[i]))) return i
  return -1
}

if (!hasDevice) rerunOnSoftwareAdapter('test/backend/gpu-tracenorm.test.ts')
else {
  test('tiled double-float gram of K = 5, 7, 33, 70 columns (row tails, 2 and 3 inputs) ≈ a float64 Gram; only the result is read back', async () => {
    const be = ops.gpuBackend({ mode: 'webgpu' })
    // [inputs, D, columns per input]: K = 5, 7, 33, 70, 6, 9; D = 1 and tails that do not fill a 32-row chunk
    for (const [n, d, c] of [
      [1, 37, 5],
      [1, 1, 7],
      [1, 300, 33],
      [1, 77, 70],
      [2, 45, 3],
      [3, 21, 3],
    ]) {
      const k = n * c
      const xs = ops.split(ops.key(d + c), n).map((kk) => ops.normal(kk, [d, c]))
      const s0 = be.deviceStats()
      const g = (await ops.run(ops.gram(xs.map((x) => ops.constant(x))), { backend: be })).data
      const s1 = be.deviceStats()
      assert.deepEqual(
        [s1.ran.host - s0.ran.host, s1.ran.tiled - s0.ran.tiled, s1.readbacks - s0.readbacks, s1.readBytes - s0.readBytes],
        [0, 1, 1, (2 * k + 1) * k * 4],
        `K=${k}: on the device, one read-back of the packed result`,
      )
      const want = gramHost(
        xs.map((x) => x.data),
        d,
        c,
        (v) => v,
        127,
      ) // float64 sums of the same float32 inputs
      assert.equal(g[2 * k * k], want[2 * k * k], `K=${k}: scale`)
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const i = a * k + b
          assert.equal(g[i], g[b * k + a], `K=${k}: hi symmetric at ${a},${b}`)
          assert.ok(
            Math.abs(g[i] + g[k * k + i] - want[i]) <= 1e-12 * want[0],
            `K=${k} D=${d} entry ${a},${b}: ${g[i] + g[k * k + i]} vs ${want[i]}`,
          )
        }
    }
    be.dispose()
  })

  /**
   * The sharings measured, with the largest host factorisation each needs (floats). Tucker rank 4 + 4: exact up to
   * K = 8 (hi + lo read for the host eigh), randomized l = 8 for the 16-channel modes (Cholesky factors 8 × 8, eigh on
   * the device). TT rank 16 + 10: exact up to K = 16 (the [36 | 16] split of [3,3,4,8]), randomized l = 26 for the
   * [144 | 32] and [72 | 32] splits (26 × 26 Cholesky factors and eigh, whose panels include the short 32 × 26).
   */
  const sharings: [string, MultiTaskConfig['sharing'], number][] = [
    ['tucker', { kind: 'tucker', gamma: 0.05, svd: { rank: 4, oversampling: 4 } }, 8 * 8],
    ['tt', { kind: 'tt', gamma: 0.05, svd: { rank: 16 } }, 26 * 26],
  ]
  for (const [name, sharing, factor] of sharings)
    test(`a ${name} training step on the device: no read-back above the ${Math.sqrt(factor)}² factorisations + the outputs; cpu parity`, async () => {
      const { batch, stepOn, state0 } = twoTask(sharing)
      const be = ops.gpuBackend({ mode: 'webgpu' })
      const s0 = be.deviceStats()
      const st = await stepOn(be)(state0, batch)
      const s1 = be.deviceStats()
      // bench/gpu-check.ts compares these with the Gram and panel QR as host kernels (each reads its D × K input)
      console.log(
        `# ${name} step: ${s1.ran.host - s0.ran.host} host ops, ${s1.readbacks - s0.readbacks} read-backs, ${s1.readBytes - s0.readBytes} B, largest ${largestReadBetween(s0, s1)} B`,
      )
      const largest = largestReadBetween(s0, s1)
      assert.ok(largest > 0 && largest <= 4 * factor, `a read-back of ${largest} B, larger than the ${factor}-float factorisations`)
      const state = await readbackState(st)
      releaseState(st)
      const cpuState = await stepOn(ops.cpuBackend())(state0, batch)
      const [gl, cl] = [state.params, cpuState.params].map((t) => ops.leaves(t) as ops.HostTensor[])
      gl.forEach((g, j) => {
        const bad = firstMismatch(g.data, cl[j].data)
        assert.equal(bad, -1, `${name}: parameter ${j} vs cpu: ${g.data[bad]} vs ${cl[j].data[bad]}`)
      })
      be.dispose()
    })

  test('Tucker and TT subgradients of stacked [3,3,16,16] task weights on gpu within the parity tolerance of cpu (exact and randomized routes)', async () => {
    const be = ops.gpuBackend({ mode: 'webgpu' })
    const ws = ops.split(ops.key(21), 2).map((kk) => ops.normal(kk, [3, 3, 16, 16], 0, 0.2))
    for (const [name, norm, svd] of [
      ['tucker', ops.tucker, { rank: 4, oversampling: 4 }],
      ['tt', ops.tt, { rank: 16 }],
      ['tucker exact', ops.tucker, {}],
    ] as const) {
      const f = (a: ops.Tensor, b: ops.Tensor) => norm(ops.stackTasks([a, b]), 1, { ...svd, key: ops.key(31) })
      const { out, vjp } = ops.vjp((ts: ops.Tensor[]) => f(ts[0], ts[1]), ws)
      const graph = [out, ...vjp(ops.tensor([1], []))]
      const got = await ops.run(graph, { backend: be })
      const want = ops.runSync(graph, { backend: ops.cpuBackend() })
      want.forEach((w, j) => {
        const bad = firstMismatch(got[j].data, w.data)
        assert.equal(bad, -1, `${name} ${j === 0 ? 'value' : `gradient ${j - 1}`}: ${got[j].data[bad]} vs cpu ${w.data[bad]}`)
      })
    }
    be.dispose()
  })
}
