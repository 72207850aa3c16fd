/**
 * The tiled WGSL kernels (matmul, conv2d and its gradients) against ref on a real WebGPU device: odd sizes,
 * partial tiles, every transpose, strides, 'same' and asymmetric padding, batch 1, split K, and tensors over
 * 2^24 elements. Without `navigator.gpu` this file re-runs itself under the software adapter
 * (bench/webgpu-cpu/run.sh: Dawn over Mesa llvmpipe), so `npm test` runs the WGSL wherever that path works.
 * An elementwise chain and two reductions over 2^24 + 7 elements always run; the GEMM-class tensors over 2^24 elements
 * take minutes on a software adapter: they run where SOFTSHARE_BIG_TENSORS=1 (the WebGPU step of .ci/run).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import { checkParity } from '../../src/testing/index.ts'
import { linalgKernels } from '../../src/backend/host/linalg-kernels.ts'
import { gramHost } from '../../src/tensor/dense.ts'
import { hasResident, readbackState, releaseState } from '../../src/train/index.ts'
import { hasDevice, relErr, rerunOnSoftwareAdapter, twoTask } from './webgpu-helpers.ts'

const tol = { rtol: 1e-3, atol: 1e-3 }

if (!hasDevice) rerunOnSoftwareAdapter('test/backend/gpu-tiled.test.ts')
else {
  const be = ops.gpuBackend({ mode: 'webgpu' })
  const [k1, k2, k3, k4] = ops.split(ops.key(17), 4)

  test('tiled matmul matches ref: odd sizes, partial tiles, all transposes, batched, split K', async () => {
    const before = be.deviceStats().ran.tiled
    const cases: [number, number, number, number][] = [
      [1, 1, 1, 1],
      [1, 5, 7, 3],
      [1, 64, 16, 64],
      [1, 65, 17, 63],
      [3, 13, 9, 70],
      [2, 4, 12, 8],
      [1, 2, 3000, 2], // few tiles, long K: split over workgroups + combine pass
      [1, 3, 1037, 5],
    ]
    for (const [batch, m, k, n] of cases)
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          const sa = [...(batch > 1 ? [batch] : []), ...(transA ? [k, m] : [m, k])]
          const sb = [...(batch > 1 ? [batch] : []), ...(transB ? [n, k] : [k, n])]
          const r = await checkParity((a, b) => ops.matmul(a, b, { transA, transB }), [ops.normal(k1, sa), ops.normal(k2, sb)], be, tol)
          assert.ok(r.ok, `batch ${batch} m ${m} k ${k} n ${n} transA=${transA} transB=${transB}: ${r.message}`)
        }
    assert.ok(be.deviceStats().ran.tiled - before >= cases.length * 4 * 3, 'forward and both VJP matmuls ran tiled')
  })

  test('tiled conv2d, conv2dBackInput and conv2dBackFilter match ref: strides, same/valid/asymmetric pads, odd channels, batch 1', async () => {
    const before = be.deviceStats().ran.tiled
    const cases: [number[], number[], ops.Padding, [number, number]][] = [
      [[1, 5, 5, 3], [3, 3, 3, 5], 'same', [1, 1]],
      [[2, 7, 6, 4], [3, 3, 4, 8], 'same', [2, 2]],
      [[1, 9, 9, 8], [1, 1, 8, 12], 'valid', [2, 2]],
      [[3, 8, 8, 5], [2, 3, 5, 7], 'valid', [1, 2]],
      [
        [1, 11, 10, 3],
        [7, 7, 3, 4],
        [
          [3, 2],
          [1, 3],
        ],
        [2, 2],
      ],
      [[2, 4, 4, 16], [3, 3, 16, 68], 'same', [1, 1]], // 68 output channels: a second, partial column tile
    ]
    for (const [xs, ws, padding, strides] of cases) {
      const r = await checkParity((x, w) => ops.conv2d(x, w, { strides, padding }), [ops.normal(k3, xs), ops.normal(k4, ws)], be, tol)
      assert.ok(r.ok, `x ${xs} w ${ws} ${JSON.stringify(padding)} strides ${strides}: ${r.message}`)
    }
    assert.equal(be.deviceStats().ran.tiled - before, cases.length * 3, 'conv2d and both gradients ran tiled')
  })

  const bigTest = process.env.SOFTSHARE_BIG_TENSORS === '1' ? test : () => undefined
  bigTest('tensors over 2^24 elements: matmul and a 1×1 conv with its gradients index exactly (u32) and match float64', async () => {
    // A: [4097, 4096] = 16 781 312 elements (> 2^24 = 16 777 216)
    const [m, k, n] = [4097, 4096, 4]
    const a = ops.uniform(k1, [m, k], -1, 1)
    const b = ops.uniform(k2, [k, n], -1, 1)
    const [y] = await ops.run([ops.matmul(a, b)], { backend: be })
    const want = new Float64Array(m * n)
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++) {
        const av = a.data[i * k + p]
        for (let j = 0; j < n; j++) want[i * n + j] += av * b.data[p * n + j]
      }
    assert.ok(relErr(y.data, want) < 1e-4, `matmul rel err ${relErr(y.data, want)}`)

    // x: [2, 725, 725, 16] = 16 820 000 elements; 1×1 conv 16 → 4, its input gradient (16.8M outputs) and filter gradient
    const xs = [2, 725, 725, 16]
    const px = xs[0] * xs[1] * xs[2]
    const x = ops.uniform(k3, xs, -1, 1)
    const w = ops.uniform(k4, [1, 1, 16, 4], -1, 1)
    const dy = ops.uniform(k1, [2, 725, 725, 4], -1, 1)
    const attrs = { strides: [1, 1] as [number, number], pads: [0, 0, 0, 0] as [number, number, number, number] }
    const [fy, dx, dw] = await ops.run(
      [
        ops.conv2d(x, w, { padding: 'valid' }),
        ops.conv2dBackInput(dy, w, { ...attrs, inShape: xs }),
        ops.conv2dBackFilter(x, dy, { ...attrs, filterShape: [1, 1, 16, 4] }),
      ],
      { backend: be },
    )
    const wy = new Float64Array(px * 4)
    const wdx = new Float64Array(px * 16)
    const wdw = new Float64Array(64)
    for (let r = 0; r < px; r++)
      for (let c = 0; c < 16; c++) {
        const xv = x.data[r * 16 + c]
        for (let o = 0; o < 4; o++) {
          wy[r * 4 + o] += xv * w.data[c * 4 + o]
          wdx[r * 16 + c] += dy.data[r * 4 + o] * w.data[c * 4 + o]
          wdw[c * 4 + o] += xv * dy.data[r * 4 + o]
        }
      }
    assert.ok(relErr(fy.data, wy) < 1e-4, `conv2d rel err ${relErr(fy.data, wy)}`)
    assert.ok(relErr(dx.data, wdx) < 1e-4, `conv2dBackInput rel err ${relErr(dx.data, wdx)}`)
    assert.ok(relErr(dw.data, wdw) < 1e-4, `conv2dBackFilter rel err ${relErr(dw.data, wdw)}`)
  })

  test('2^24 + 7 elements ([113, 148471]): a fused elementwise chain, a sum and a max index every element exactly; long loops split', async () => {
    // integers (i mod 8) − 4, the 7 past 2^24 raised by 1000: every partial sum is an exact f32 integer, so a skipped
    // or doubled element (f32 index arithmetic rounds 2^24 + 1 to 2^24) changes the result
    // [113, 148471] = 2^24 + 7 (a 1-D tensor that long has no exact 3-D view and is refused, naming the reshape)
    const n = 2 ** 24 + 7
    const x = ops.fromData(
      Float32Array.from({ length: n }, (_, i) => (i % 8) - 4 + (i >= 2 ** 24 ? 1000 : 0)),
      [113, 148471],
    )
    const c = ops.constant(x)
    const [y, s, m] = await ops.run([ops.add(ops.mul(c, 2), 1), ops.sum(c), ops.max(c)], { backend: be })
    let want = 0
    for (let i = 0; i < n; i++) want += x.data[i]
    assert.equal(s.data[0], want, 'sum')
    assert.equal(m.data[0], 1002, 'max (the last element)')
    const bad = y.data.findIndex((v, i) => v !== 2 * x.data[i] + 1)
    assert.equal(bad, -1, `elementwise at ${bad}: ${y.data[bad]}`)
    // a reduction over scattered axes with one longer than 65536 (nested loops that long stop early on llvmpipe)
    const z = ops.fromData(x.data.subarray(0, 6 * 70001), [2, 3, 70001])
    const [zs] = await ops.run([ops.sum(ops.constant(z), [0, 2])], { backend: be })
    const zw = [0, 0, 0]
    z.data.forEach((v, i) => {
      zw[Math.floor(i / 70001) % 3] += v
    })
    assert.deepEqual(Array.from(zs.data), zw, 'sum over axes 0 and 2 of [2, 3, 70001]')
  })

  test('a training step mixing gpu.js and tiled kernels stays on the device: one read-back per requested output', async () => {
    const x = ops.normal(k1, [4, 6, 6, 3])
    const w1 = ops.normal(k2, [3, 3, 3, 8], 0, 0.3)
    const w2 = ops.normal(k3, [8, 5], 0, 0.3)
    const loss = (p: { w1: ops.Tensor; w2: ops.Tensor }) => {
      const h = ops.relu(ops.conv2d(ops.constant(x), p.w1, { padding: 'same' }))
      const z = ops.matmul(ops.reshape(ops.mean(h, [1, 2]), [4, 8]), p.w2)
      return ops.mean(ops.square(ops.tanh(z)))
    }
    const { value, grad } = ops.valueAndGrad(loss)({ w1, w2 })
    const s0 = be.deviceStats()
    const [v, g1, g2] = await ops.run([value, grad.w1, grad.w2], { backend: be })
    const s1 = be.deviceStats()
    // uploads (inputs and graph constants) are one-way; the only device→host round-trips are the requested outputs
    assert.equal(s1.readbacks - s0.readbacks, 3, 'read-backs: the three requested outputs only')
    assert.equal(s1.ran.host - s0.ran.host, 0)
    assert.ok(s1.ran.tiled - s0.ran.tiled >= 5 && s1.ran.gpujs - s0.ran.gpujs >= 5, JSON.stringify(s1.ran))
    const [rv, r1, r2] = ops.runSync([value, grad.w1, grad.w2], { backend: ops.refBackend() })
    assert.ok(Math.abs(v.data[0] - rv.data[0]) < 1e-4 * (1 + Math.abs(rv.data[0])))
    assert.ok(relErr(g1.data, Float64Array.from(r1.data)) < 1e-3 && relErr(g2.data, Float64Array.from(r2.data)) < 1e-3)
    assert.equal(be.stats().liveBuffers, 0)
  })

  test('eigh of small float32 Gram matrices runs on the device and matches ref; psdPow value + gradient needs no host op', async () => {
    for (const k of [1, 2, 3, 5, 16]) {
      const a = ops.normal(ops.key(30 + k), [k + 3, k])
      const g = ops.runSync(ops.matmul(a, a, { transA: true }), { backend: ops.refBackend() })
      const s0 = be.deviceStats()
      const r = await checkParity((x) => ops.bind(ops.eighPrim, [x]), [g], be, { ...tol, grad: false })
      assert.ok(r.ok, `eigh ${k}×${k}: ${r.message}`)
      assert.equal(be.deviceStats().ran.host - s0.ran.host, 0, `eigh ${k}×${k} ran on the host`)
    }
    // Σ √λ of XᵀX (the nuclear norm of X through a float32 Gram) and its gradient; rank-deficient X included
    const f = (t: ops.Tensor) => ops.sum(ops.psdPow(ops.matmul(t, t, { transA: true }), 0.5))
    const x0 = ops.normal(k1, [40, 3])
    const dup = ops.tensor(
      Float32Array.from({ length: 40 * 3 }, (_, i) => x0.data[i - (i % 3)]),
      [40, 3],
    ) // three equal columns
    for (const x of [x0, dup]) {
      const s0 = be.deviceStats()
      const [v, gx] = await ops.run([f(ops.constant(x)), ops.grad(f)(x)], { backend: be })
      const s1 = be.deviceStats()
      assert.equal(s1.ran.host - s0.ran.host, 0, 'no host op')
      assert.equal(s1.readbacks - s0.readbacks, 2, 'read-backs: value and gradient only')
      const [rv, rg] = ops.runSync([f(ops.constant(x)), ops.grad(f)(x)], { backend: ops.refBackend() })
      assert.ok(Math.abs(v.data[0] - rv.data[0]) <= 1e-4 * Math.abs(rv.data[0]), `${v.data[0]} vs ${rv.data[0]}`)
      assert.ok(relErr(gx.data, Float64Array.from(rg.data)) < 1e-3, `gradient rel err ${relErr(gx.data, Float64Array.from(rg.data))}`)
    }
  })

  test('LAF thin path on the device: double-float gram ≈ a float64 Gram, eigh of hi + lo as the host, laf parity, no host op', async () => {
    for (const d of [1, 7, 300, 20000]) {
      const [ka, kb] = ops.split(ops.key(40 + d), 2)
      const x = ops.normal(ka, [d, 1])
      const e = ops.normal(kb, [d, 1])
      // two nearly shared tasks: σ₂/σ₁ ≈ 5e-5, above the 1e-5 floor of a float64 Gram, far below float32's 1e-3
      const y = ops.fromData(
        Float32Array.from(x.data, (v, i) => v + 1e-4 * e.data[i]),
        [d, 1],
      )
      const s0 = be.deviceStats()
      const g = (await ops.run(ops.gram([ops.constant(x), ops.constant(y)]), { backend: be })).data
      const lo = ops.fromData(g.slice(4, 8), [2, 2])
      const dev = (
        await ops.run(ops.bind(ops.eighPrim, [ops.constant(ops.fromData(g.slice(0, 4), [2, 2])), ops.constant(lo)]), { backend: be })
      ).data
      assert.equal(be.deviceStats().ran.host - s0.ran.host, 0, 'gram and eigh of hi + lo ran on the device')
      const want = gramHost([x.data, y.data], d, 1, (v) => v, 127) // float64 sums of the same float32 inputs
      assert.equal(g[8], want[8], 'scale')
      for (const i of [0, 1, 3])
        assert.ok(Math.abs(g[i] + g[4 + i] - want[i]) <= 1e-12 * want[0], `gram d=${d} entry ${i}: ${g[i] + g[4 + i]} vs ${want[i]}`)
      const host = ops.runSync(
        ops.bind(ops.eighPrim, [ops.constant(ops.fromData(Float64Array.from(g.slice(0, 4)), [2, 2])), ops.constant(lo)]),
        { backend: ops.cpuBackend() },
      ).data
      assert.ok(
        Math.abs(dev[0] - host[0]) <= 1e-6 * host[0] && Math.abs(dev[1] - host[1]) <= 1e-3 * host[1] + 1e-12 * host[0],
        `eigh d=${d}`,
      )
      assert.ok(d === 1 || host[1] > 0, 'the small eigenvalue is above the floor (rank 2 from two rows on)')
      for (let i = 2; i < 6; i++) assert.ok(Math.abs(dev[i] - host[i]) <= 1e-5, `eigenvector entry ${i}`)
      const r = await checkParity((a, b) => ops.nuclearNormOfColumns([a, b]), [x, y], be, tol)
      assert.ok(r.ok, `nuclear norm d=${d}: ${r.message}`)
    }
    // LAF over stacked [3,3,2,4] kernels of two tasks, and of three (a 3 × 3 hi + lo eigh still runs on the host)
    for (const tasks of [2, 3]) {
      const ws = ops.split(ops.key(60 + tasks), tasks).map((k) => ops.normal(k, [3, 3, 2, 4]))
      const s0 = be.deviceStats()
      const r = await checkParity((...w) => ops.laf(ops.stackTasks(w), 0.5), ws, be, tol)
      assert.ok(r.ok, `laf of ${tasks} tasks: ${r.message}`)
      const host = be.deviceStats().ran.host - s0.ran.host
      assert.ok(tasks === 2 ? host === 0 : host > 0, `laf of ${tasks} tasks: ${host} host ops`)
    }
  })

  test('qr of tall panels is Cholesky-QR2 on the device (l × l factorisations on the host): orthonormal, spans the panel; Tucker randomized matches ref', async () => {
    // [m, l, κ]: square-ish well conditioned, the randomized SVD's l = 26 on a long and a short side (32 × 26: Tucker's
    // 32-channel modes), and ill conditioned (shifted first pass)
    for (const [m, l, cond] of [
      [64, 4, 1],
      [300, 26, 1],
      [32, 26, 1],
      [500, 20, 1e4],
    ] as const) {
      const [ka, kb] = ops.split(ops.key(m + l), 2)
      const a = ops.normal(ka, [m, l]).data
      const b = ops.normal(kb, [l, l]).data
      const y = new Float64Array(m * l) // A diag(κ^(−t/(l−1))) B
      for (let i = 0; i < m; i++)
        for (let j = 0; j < l; j++) for (let t = 0; t < l; t++) y[i * l + j] += a[i * l + t] * cond ** (-t / (l - 1)) * b[t * l + j]
      const s0 = be.deviceStats()
      const q = (await ops.run(ops.qr(ops.constant(ops.fromData(Float32Array.from(y), [m, l]))), { backend: be })).data
      const s1 = be.deviceStats()
      // a near-square Gaussian panel has κ ≈ 10²: its Gram is past the plain pass's threshold too
      const shifted = cond > 1 || m < 2 * l
      assert.equal(s1.ran.host - s0.ran.host, shifted ? 3 : 2, `${m}×${l}: l × l factorisations on the host (a third for the shifted pass)`)
      assert.equal(s1.readbacks - s0.readbacks, s1.ran.host - s0.ran.host + 1, 'one l × l read-back per factorisation, plus Q itself')
      const qRef = ops.runSync(ops.qr(ops.constant(ops.fromData(y, [m, l]))), { backend: ops.refBackend() }).data
      let orth = 0
      let span = 0
      for (let i = 0; i < l; i++)
        for (let j = 0; j < l; j++) {
          let qq = 0
          let qh = 0
          for (let r = 0; r < m; r++) {
            qq += q[r * l + i] * q[r * l + j]
            qh += q[r * l + i] * qRef[r * l + j]
          }
          orth = Math.max(orth, Math.abs(qq - (i === j ? 1 : 0)))
          // the same columns as Householder's, up to sign
          span = Math.max(span, Math.abs(Math.abs(qh) - (i === j ? 1 : 0)))
        }
      assert.ok(orth < 1e-5, `${m}×${l} κ ${cond}: ‖QᵀQ − I‖max = ${orth}`)
      assert.ok(span < (cond > 1 ? 1e-3 : 1e-5), `${m}×${l} κ ${cond}: |QᵀQ_ref| − I = ${span}`)
    }
    const w = ops.normal(ops.key(3), [3, 3, 8, 16])
    const r = await checkParity((x) => ops.tucker(x, 0.5, { method: 'randomized', rank: 4, key: ops.key(9) }), [w], be, tol)
    assert.ok(r.ok, `tucker, randomized rank 4: ${r.message}`)
  })

  test('host ops per LAF training step: the float64 gram and its eigh as host kernels before, on the device now', async () => {
    const { batch, stepOn, state0 } = twoTask({ kind: 'laf', gamma: 1e-2 })
    const k32 = linalgKernels<Float32Array>(Float32Array, 1e-3)
    const before = ops.gpuBackend({ mode: 'webgpu', hostKernels: { gram: k32.gram, eigh: k32.eigh } })
    const counts: number[] = []
    const states: any[] = []
    for (const b of [before, be]) {
      const step = stepOn(b)
      const s0 = b.deviceStats()
      const st = await step(state0, batch)
      counts.push(b.deviceStats().ran.host - s0.ran.host)
      states.push(await readbackState(st))
      releaseState(st)
    }
    before.dispose()
    // the small ResNets have 9 convs: one gram and one eigh (shared by value and polar factor) each
    assert.deepEqual(counts, [18, 0], `host ops per LAF step before/after: ${counts}`)
    const [pa, pb] = states.map((s) => ops.leaves(s.params) as ops.HostTensor[])
    for (const [j, t] of pa.entries()) assert.ok(relErr(pb[j].data, Float64Array.from(t.data)) < 1e-4, `parameter ${j}`)
  })

  test('the same graphs on per-cell gpu.js kernels (tiled: false) agree with the tiled kernels', async () => {
    const cell = ops.gpuBackend({ mode: 'webgpu', tiled: false })
    const x = ops.normal(k1, [2, 9, 9, 8])
    const w = ops.normal(k2, [3, 3, 8, 12])
    const f = (t: ops.Tensor) => ops.sum(ops.square(ops.conv2d(t, w, { strides: [2, 2], padding: 'same' })))
    const [a, ga] = await ops.run([f(ops.constant(x)), ops.grad(f)(x)], { backend: be })
    const [c, gc] = await ops.run([f(ops.constant(x)), ops.grad(f)(x)], { backend: cell })
    assert.equal(cell.deviceStats().ran.tiled, 0)
    assert.ok(Math.abs(a.data[0] - c.data[0]) <= 1e-4 * Math.abs(c.data[0]))
    assert.ok(relErr(ga.data, Float64Array.from(gc.data)) < 1e-4)
    cell.dispose()
  })

  test('a resident training step: state stays on the device, read-backs per step = requested outputs, flat buffers, no recompiles, cpu parity after 3 steps', async () => {
    const { batch, stepOn, state0 } = twoTask({ kind: 'single' })
    const step = stepOn(be)
    const live0 = be.stats().liveBuffers
    let st: any = state0
    const perStep: { readbacks: number; host: number; live: number; kernels: number; created: number; reused: number }[] = []
    for (let i = 0; i < 5; i++) {
      const s0 = be.deviceStats()
      const next = await step(st, batch)
      releaseState(st, next)
      st = next
      const s1 = be.deviceStats()
      perStep.push({
        readbacks: s1.readbacks - s0.readbacks,
        host: s1.ran.host - s0.ran.host,
        live: be.stats().liveBuffers,
        kernels: be.stats().compiledKernels,
        created: s1.buffers?.created ?? -1,
        reused: s1.buffers?.reused ?? -1,
      })
      if (i === 2) {
        // the same three steps on the cpu backend and on this backend with host state between steps (as before)
        const host = await readbackState(st)
        assert.ok(hasResident(st.params) && !hasResident(host.params))
        for (const [other, exact] of [
          [ops.cpuBackend(), false],
          [be, true],
        ] as const) {
          const otherStep = stepOn(other, false)
          let c: any = state0
          for (let j = 0; j < 3; j++) c = await otherStep(c, batch)
          for (const part of ['params', 'modelState', 'opt'] as const) {
            const [gl, cl] = [host[part], c[part]].map((t) => ops.leaves(t).filter(ops.isHost) as ops.HostTensor[])
            assert.equal(gl.length, cl.length)
            gl.forEach((g, j) => {
              const bad = exact
                ? g.data.findIndex((v, k) => v !== cl[j].data[k])
                : g.data.findIndex((v, k) => !(Math.abs(v - cl[j].data[k]) <= tol.atol + tol.rtol * Math.abs(cl[j].data[k])))
              assert.equal(
                bad,
                -1,
                `${part} leaf ${j} vs ${other.name}${exact ? ' (host state)' : ''}: ${g.data[bad]} vs ${cl[j].data[bad]}`,
              )
            })
          }
        }
      }
    }
    // requested outputs: the loss and one metric; the state never comes back
    for (const p of perStep) assert.deepEqual([p.readbacks, p.host], [2, 0], JSON.stringify(perStep))
    // freed device buffers are handed out again: the last steps create none (wgsl/pool.ts), and the exact-bits
    // comparison above ran on recycled buffers
    const [s3, s5] = [perStep[2], perStep[4]]
    assert.ok(s5.created === s3.created && s5.reused > s3.reused, `buffers created/reused per step: ${JSON.stringify(perStep)}`)
    assert.ok(
      perStep.every((p) => p.live === perStep[0].live && p.kernels === perStep[0].kernels),
      JSON.stringify(perStep),
    )
    releaseState(st)
    assert.equal(be.stats().liveBuffers, live0, 'every resident buffer released')
  })
}
