import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { tensor, tensor64 } from '../../src/index.ts'
import { atomicWrite, convertCheckpoint, loadCheckpoint, readSafetensors, saveCheckpoint, writeSafetensors } from '../../src/node/index.ts'
import { handMadeSafetensors } from './fixtures.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'softshare-st-'))

test('safetensors: a file built by hand from the spec loads (F32, F16, I64, metadata, any header order)', () => {
  const dir = tmp()
  const path = join(dir, 'hand.safetensors')
  writeFileSync(path, handMadeSafetensors())
  const { tensors, metadata } = readSafetensors(path)
  assert.deepEqual([...tensors.keys()], ['b', 'a', 'c'])
  assert.deepEqual([...(tensors.get('a')?.data ?? [])], [1.5, -2])
  assert.deepEqual([...(tensors.get('b')?.data ?? [])], [1])
  assert.deepEqual(tensors.get('c')?.shape, [1, 1])
  assert.equal(tensors.get('c')?.data[0], -5)
  assert.deepEqual(metadata, { source: 'by hand' })
  const ck = loadCheckpoint(path) as { tree: any; meta: unknown }
  assert.deepEqual([...ck.tree.a.data], [1.5, -2])
})

test('safetensors: our files follow the spec byte for byte (aligned header, sha256, tree paths as names)', () => {
  const dir = tmp()
  const path = join(dir, 'ck.safetensors')
  const state = {
    params: {
      tasks: [
        {
          stem: {
            w: tensor([
              [1, 2],
              [3, 4],
            ]),
          },
        },
      ],
    },
    opt: { count: tensor(3) },
    step: 17,
    key: [12345, 678],
    cursor: { epoch: 2, batch: 5, sums: { loss: Number.NaN } },
    best: null,
    x64: tensor64([Math.PI]),
  }
  saveCheckpoint(path, state, { run: 'r1' })
  const raw = readFileSync(path)
  const n = Number(raw.readBigUInt64LE(0))
  assert.equal((8 + n) % 8, 0)
  const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'))
  assert.deepEqual(header['params.tasks.0.stem.w'], { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] })
  assert.deepEqual(header.x64, { dtype: 'F64', shape: [1], data_offsets: [20, 28] })
  assert.match(header.__metadata__.sha256, /^[0-9a-f]{64}$/)
  assert.equal(raw.length, 8 + n + 28)
  assert.equal(raw.readFloatLE(8 + n + 12), 4)
  const back = loadCheckpoint(path) as { tree: any; meta: unknown }
  assert.deepEqual(back.meta, { run: 'r1' })
  assert.equal(back.tree.step, 17)
  assert.deepEqual(back.tree.key, [12345, 678])
  assert.ok(Number.isNaN(back.tree.cursor.sums.loss))
  assert.equal(back.tree.best, null)
  assert.deepEqual([...back.tree.params.tasks[0].stem.w.data], [1, 2, 3, 4])
  assert.ok(back.tree.x64.data instanceof Float64Array)
  assert.equal(back.tree.opt.count.shape.length, 0)
  assert.deepEqual(readdirSync(dir), ['ck.safetensors'])
  assert.throws(() => saveCheckpoint(path, { w: new Float32Array(2) }), /saveCheckpoint: .*ck.safetensors: the leaf at w is Float32Array/)
})

test('safetensors: corrupted, truncated and oversized-header files are refused by name; nothing else on disk changes', () => {
  const dir = tmp()
  const good = join(dir, 'good.safetensors')
  saveCheckpoint(good, { w: tensor([1, 2, 3, 4, 5]) })
  const goodBytes = readFileSync(good)
  const n = Number(goodBytes.readBigUInt64LE(0))
  const flipped = Buffer.from(goodBytes)
  flipped[8 + n + 5] ^= 0x10
  writeFileSync(join(dir, 'flipped.safetensors'), flipped)
  writeFileSync(join(dir, 'truncated.safetensors'), goodBytes.subarray(0, goodBytes.length - 3))
  writeFileSync(join(dir, 'short.safetensors'), goodBytes.subarray(0, 5))
  const huge = Buffer.from(goodBytes)
  huge.writeBigUInt64LE(200_000_000n, 0)
  writeFileSync(join(dir, 'huge.safetensors'), huge)
  const overlap = Buffer.from(handMadeSafetensors().toString('latin1').replace('"data_offsets":[8,10]', '"data_offsets":[6, 8]'), 'latin1')
  writeFileSync(join(dir, 'overlap.safetensors'), overlap)
  const before = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]))
  assert.throws(() => loadCheckpoint(join(dir, 'flipped.safetensors')), /loadCheckpoint: .*flipped\.safetensors: data is corrupted: sha256/)
  assert.throws(
    () => loadCheckpoint(join(dir, 'truncated.safetensors')),
    /truncated\.safetensors: tensor w: .*run past the 17 data bytes \(truncated\?\)/,
  )
  assert.throws(() => loadCheckpoint(join(dir, 'short.safetensors')), /short\.safetensors: 5 bytes is too short/)
  assert.throws(
    () => loadCheckpoint(join(dir, 'huge.safetensors')),
    /huge\.safetensors: header length 200000000 exceeds the 100000000-byte limit/,
  )
  assert.throws(() => readSafetensors(join(dir, 'overlap.safetensors')), /overlap\.safetensors: tensor b: data_offsets \[6, 8\] overlap/)
  assert.throws(() => loadCheckpoint(join(dir, 'missing.safetensors')), /missing\.safetensors: cannot open: ENOENT/)
  const after = readdirSync(dir)
  assert.deepEqual(after.sort(), [...before.keys()].sort())
  for (const f of after) assert.ok(readFileSync(join(dir, f)).equals(before.get(f) as Buffer), `${f} changed`)
})

test('atomic writes: a failed save leaves the old file and no temp file; stale temp files of dead writers are removed', () => {
  const dir = tmp()
  const path = join(dir, 'm.safetensors')
  writeSafetensors(path, [['a', tensor([1])]])
  const old = readFileSync(path)
  assert.throws(
    () =>
      atomicWrite(path, (write) => {
        write(new Uint8Array(100))
        throw new Error('disk full')
      }),
    /disk full/,
  )
  assert.deepEqual(readdirSync(dir), ['m.safetensors'])
  assert.ok(readFileSync(path).equals(old))
  // a temp file from a crashed save by a process that no longer exists (pid 2^22 + 1 is above Linux's pid_max default)
  writeFileSync(join(dir, '.m.safetensors.tmp-4194305-abc'), 'partial')
  writeFileSync(join(dir, '.step-1.safetensors.tmp-4194305-abc'), 'partial save of another checkpoint')
  writeFileSync(join(dir, `.live.safetensors.tmp-${process.pid}-abc`), 'a save in progress')
  writeFileSync(join(dir, 'notes.tmp-4194305-abc'), 'not one of ours')
  writeSafetensors(path, [['a', tensor([2])]])
  assert.deepEqual(readdirSync(dir).sort(), [`.live.safetensors.tmp-${process.pid}-abc`, 'm.safetensors', 'notes.tmp-4194305-abc'])
  assert.throws(() => writeSafetensors(path, [['__metadata__', tensor([1])]]), /tensor name "__metadata__" is reserved/)
})

test('checkpoints of the old JSON format still load, and convert to safetensors in one call', () => {
  const dir = tmp()
  const old = join(dir, 'old.ckpt')
  const b64 = Buffer.from(new Float32Array([1.5, -2]).buffer).toString('base64')
  writeFileSync(
    old,
    JSON.stringify({
      format: 'softshare-checkpoint',
      version: 1,
      meta: { epoch: 3 },
      tree: { record: { w: { shape: [2], dtype: 'float32', data: b64 } } },
    }),
  )
  const a = loadCheckpoint(old) as { tree: any; meta: unknown }
  assert.deepEqual([...a.tree.w.data], [1.5, -2])
  convertCheckpoint(old, join(dir, 'new.safetensors'))
  const b = loadCheckpoint(join(dir, 'new.safetensors')) as { tree: any; meta: unknown }
  assert.deepEqual(b.meta, { epoch: 3 })
  assert.deepEqual([...b.tree.w.data], [1.5, -2])
  writeFileSync(join(dir, 'junk.ckpt'), '{"hello": 1}')
  assert.throws(() => loadCheckpoint(join(dir, 'junk.ckpt')), /junk.ckpt: not a softshare checkpoint/)
})
