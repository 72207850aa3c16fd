/** Results that stay resident in WASM memory across runs (cpu backend): values, touch-then-mutate, donation, bounded memory. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { residency } from '../../src/backend/cpu/resident.ts'
import { wasmRuntime } from '../../src/backend/cpu/wasm/runtime.ts'
import * as s from '../../src/index.ts'

const bits = (d: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(d).buffer))
const cpu = s.cpuBackend({ wasm: true })
const js = s.cpuBackend({ wasm: false })
const big = (seed: number) => s.normal(s.key(seed), [64, 80])

test('a resident result equals the copied one, feeds the next run in place, and a touched then mutated one is read anew', () => {
  const x = big(1)
  const y = s.runSync(s.mul(s.add(x, 1), 2), { backend: cpu })
  const yj = s.runSync(s.mul(s.add(x, 1), 2), { backend: js })
  // the next run reads y's block itself: its upload is resident
  const buf = cpu.upload(y)
  assert.ok(wasmRuntime().resident(buf) !== undefined, 'upload of an untouched result is its WASM block')
  cpu.release(buf)
  const z = s.runSync(s.sub(y, x), { backend: cpu })
  assert.deepEqual(bits(z.data), bits(s.runSync(s.sub(yj, x), { backend: js }).data))
  assert.deepEqual(bits(y.data), bits(yj.data))
  // touched: plain memory the caller owns; mutating it changes what the next run sees
  y.data[0] = 1000
  assert.equal(s.runSync(s.sub(y, x), { backend: cpu }).data[0], Math.fround(1000 - x.data[0]))
})

test('compile with donate: the old state is gone, the new one bit-identical to plain runs, WASM memory flat over steps', async () => {
  const x = big(2)
  const step = (a: { w: s.HostTensor }) => ({ w: s.sub(a.w, s.mul(s.tanh(s.mul(a.w, x)), 0.1)) })
  const f = s.compile(step, { backend: cpu, donate: (a) => a.w })
  let w = big(3)
  let wRef = w
  const live: number[] = []
  for (let i = 0; i < 5; i++) {
    const old = w
    w = (await f({ w })).w
    wRef = s.runSync(step({ w: wRef }), { backend: js }).w
    if (i > 0) assert.throws(() => old.data, /cpu backend: this \[64,80\] tensor was donated \(an argument donated to a compiled call/)
    live.push(wasmRuntime().memoryStats().live)
  }
  assert.deepEqual(bits(w.data), bits(wRef.data))
  assert.equal(f.traces(), 1)
  assert.ok(
    live.slice(2).every((l) => l === live[1]),
    `live WASM bytes per step: ${live}`,
  )
})

test('residency keeps at most its cap: the oldest untouched results are copied out (same values) and their blocks freed', () => {
  const freed: Float32Array[] = []
  const r = residency((b) => freed.push(b), 2 * 4096 * 4)
  const blocks = [1, 2, 3].map((v) => new Float32Array(4096).fill(v))
  const hs = blocks.map((b) => r.read(b, [4096])!)
  for (const b of blocks) assert.equal(r.release(b), true) // the executor's reference
  assert.deepEqual(freed, [blocks[0]])
  assert.equal(r.heldBytes(), 2 * 4096 * 4)
  assert.equal(r.upload(hs[0]), undefined, 'copied out: uploads copy in again')
  assert.equal(r.upload(hs[2]), blocks[2])
  blocks[0].fill(9) // the runtime reuses a freed block: the copy must not see it
  assert.equal(hs[0].data[0], 1)
  assert.equal(r.read(new Float32Array(10), [10]), undefined, 'small results are copied at once')
  assert.equal(r.donate(hs[1]), true)
  assert.throws(() => hs[1].data, /donated/)
  assert.equal(r.release(blocks[2]), true) // the upload's reference; hs[2] still holds it
  assert.deepEqual(freed, [blocks[0], blocks[1]])
  assert.equal(hs[2].data[0], 3)
  assert.deepEqual(freed, [blocks[0], blocks[1], blocks[2]])
})

test('residency bookkeeping: a touched entry is never let go twice, unknown blocks are not managed, donate answers only for untouched tensors, the queue compacts', () => {
  const freed: Float32Array[] = []
  const r = residency((b) => freed.push(b), 2 * 4096 * 4)
  const [a, b, c] = [1, 2, 3].map((v) => new Float32Array(4096).fill(v))
  const ha = r.read(a, [4096])!
  const hb = r.read(b, [4096])!
  for (const x of [a, b]) r.release(x)
  assert.equal(ha.data[0], 1) // touched: copied out, a freed once
  assert.deepEqual(freed, [a])
  r.read(c, [4096])
  r.release(c)
  // held is b and c, at the cap: nothing more is let go, and a's stale queue entry is skipped
  assert.deepEqual(freed, [a])
  assert.equal(r.heldBytes(), 2 * 4096 * 4)
  const d = new Float32Array(4096).fill(4)
  r.read(d, [4096])
  r.release(d)
  assert.deepEqual(freed, [a, b], 'over the cap: the oldest untouched (b) is copied out and freed, a is not freed again')
  assert.equal(hb.data[0], 2)
  assert.equal(r.heldBytes(), 2 * 4096 * 4)
  // a block residency never handed out is not its to free
  const other = new Float32Array(4096)
  assert.equal(r.release(other), false)
  assert.ok(!freed.includes(other))
  // donate: false for a tensor read from elsewhere, for a touched one, and the second time
  assert.equal(r.donate({ kind: 'host', shape: [1], data: new Float32Array(1) }), false)
  assert.equal(r.donate(ha), false)
  const e = new Float32Array(4096).fill(5)
  const he = r.read(e, [4096])!
  r.release(e)
  assert.equal(r.donate(he), true)
  assert.equal(r.donate(he), false)
  // many touched entries: the queue is compacted to the untouched ones, which the cap still finds and copies out
  const big = residency(() => {}, 5 * 4096 * 4)
  const kept = Array.from({ length: 4 }, (_, i) => new Float32Array(4096).fill(100 + i))
  const hs = kept.map((k) => big.read(k, [4096])!)
  for (let i = 0; i < 80; i++) {
    const t = big.read(new Float32Array(4096).fill(i), [4096])!
    assert.equal(t.data[0], i)
  }
  assert.equal(big.heldBytes(), 4 * 4096 * 4)
  big.read(new Float32Array(4096), [4096])
  big.read(new Float32Array(4096), [4096])
  assert.equal(big.heldBytes(), 5 * 4096 * 4, 'over the cap after compaction: the oldest untouched is let go')
  // upload before touching: reading data would copy it out anyway
  assert.equal(big.upload(hs[0]), undefined, 'the oldest untouched was copied out')
  assert.equal(big.upload(hs[1]), kept[1])
  assert.equal(hs[0].data[0], 100)
})
