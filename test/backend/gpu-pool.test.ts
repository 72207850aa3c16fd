/** Device buffer recycling (src/backend/gpu/wgsl/pool.ts) on a stand-in device: reuse by size and usage, the cap, map buffers, double destroy. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { recycleBuffers } from '../../src/backend/gpu/wgsl/pool.ts'

/** A stand-in for a GPUDevice: numbered buffers that record whether they were really destroyed. */
const fakeDevice = () => {
  let next = 0
  const made: { id: number; size: number; usage: number; destroyed: boolean; destroy(): void }[] = []
  const device = {
    createBuffer: (d: { size: number; usage: number }) => {
      const b = {
        id: next++,
        size: d.size,
        usage: d.usage,
        destroyed: false,
        destroy() {
          b.destroyed = true
        },
      }
      made.push(b)
      return b
    },
  }
  return { device: device as unknown as GPUDevice, made }
}

const STORAGE = 0x80
const MAP_READ = 0x1

test('recycled device buffers: same size and usage reused, others new; map buffers never kept; cap; double destroy lists once', () => {
  const { device, made } = fakeDevice()
  const stats = recycleBuffers(device, 100)!
  assert.equal(recycleBuffers(device, 5), stats, 'installed once per device')
  const a = device.createBuffer({ size: 40, usage: STORAGE })
  a.destroy()
  a.destroy() // a second owner letting go must not hand the buffer out twice
  assert.equal(made[0].destroyed, false, 'kept, not destroyed')
  const b = device.createBuffer({ size: 40, usage: STORAGE })
  assert.equal(b, a, 'same size and usage: the kept buffer')
  const c = device.createBuffer({ size: 40, usage: STORAGE })
  assert.notEqual(c, a, 'listed once: a second request gets a new buffer')
  const d = device.createBuffer({ size: 48, usage: STORAGE })
  const e = device.createBuffer({ size: 40, usage: STORAGE | 0x8 })
  assert.equal(new Set([a, c, d, e]).size, 4, 'other size or usage: new buffers')
  assert.deepEqual([stats.created, stats.reused, stats.keptBytes], [4, 1, 0])
  // the cap: 40 + 48 kept (88 ≤ 100), the next 40 would exceed it and is destroyed for real
  b.destroy()
  d.destroy()
  c.destroy()
  assert.equal(stats.keptBytes, 88)
  assert.deepEqual(
    made.map((m) => m.destroyed),
    [false, true, false, false],
  )
  // read-back staging buffers (map usage) are created and destroyed as usual
  const m = device.createBuffer({ size: 40, usage: MAP_READ | 0x8 })
  m.destroy()
  assert.equal(made.at(-1)?.destroyed, true)
  assert.notEqual(device.createBuffer({ size: 40, usage: MAP_READ | 0x8 }), m)
  assert.equal(recycleBuffers(fakeDevice().device, 0), undefined, 'capBytes 0: nothing installed')
})
