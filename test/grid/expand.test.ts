/** Grid expansion without Redis: deterministic job ids, sweeps × seeds, and clear refusals of bad flags and configs. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { expandGrid, GridError, parseSeeds, parseSweep } from '../../src/node/grid/expand.ts'
import { canonicalJson, runId } from '../../src/node/grid/library.ts'
import { paperGridLibrary } from '../../src/node/grid/paper.ts'
import { backoffMs, probeRedis } from '../../src/node/grid/redis.ts'
import { gridLibrary } from './toy-library.ts'

test('grid ids: from experiment, config and seed only; key order does not matter, every value does', () => {
  const a = runId({ experiment: 'toy', config: { rate: 0.1, epochs: 5, stepMs: 60 }, seed: 0 })
  assert.match(a, /^toy-[0-9a-f]{16}$/)
  assert.equal(runId({ experiment: 'toy', config: { stepMs: 60, epochs: 5, rate: 0.1 }, seed: 0 }), a)
  assert.notEqual(runId({ experiment: 'toy', config: { rate: 0.1, epochs: 5, stepMs: 60 }, seed: 1 }), a)
  assert.notEqual(runId({ experiment: 'toy', config: { rate: 0.1000001, epochs: 5, stepMs: 60 }, seed: 0 }), a)
  assert.notEqual(runId({ experiment: 'toy2', config: { rate: 0.1, epochs: 5, stepMs: 60 }, seed: 0 }), a.replace('toy-', 'toy2-'))
  assert.equal(canonicalJson({ b: [1, { d: 2, c: null }], a: 'x' }), '{"a":"x","b":[1,{"c":null,"d":2}]}')
  assert.throws(() => canonicalJson({ a: Number.NaN }), /canonicalJson: NaN is not representable/)
})

test('grid expansion: runs × sweep points × seeds, labels name the point, each config validated', () => {
  const runs = expandGrid(gridLibrary, 'toy', { seeds: parseSeeds('0,3'), sweeps: [parseSweep('epochs=2,4')] })
  assert.equal(runs.length, 3 * 2 * 2)
  assert.deepEqual(
    runs.slice(0, 4).map((r) => [r.label, r.seed, (r.config as { epochs: number }).epochs]),
    [
      ['rate 0.05 epochs=2', 0, 2],
      ['rate 0.05 epochs=2', 3, 2],
      ['rate 0.05 epochs=4', 0, 4],
      ['rate 0.05 epochs=4', 3, 4],
    ],
  )
  assert.equal(new Set(runs.map((r) => r.id)).size, runs.length)
  // the same grid expands to the same ids (what makes resubmission a no-op)
  assert.deepEqual(
    expandGrid(gridLibrary, 'toy', { seeds: [0, 3], sweeps: [parseSweep('epochs=2,4')] }).map((r) => r.id),
    runs.map((r) => r.id),
  )
  // a nested sweep path on the real library
  const p = expandGrid(paperGridLibrary, 'quickstart', { preset: 'smoke', seeds: [0], sweeps: [parseSweep('gamma.laf=0.001,0.1')] })
  assert.deepEqual(
    p.map((r) => [r.label, (r.config as { gamma: { laf: number } }).gamma.laf]),
    [
      ['single gamma.laf=0.001', 0.001],
      ['single gamma.laf=0.1', 0.1],
      ['laf gamma.laf=0.001', 0.001],
      ['laf gamma.laf=0.1', 0.1],
      ['laf+ada gamma.laf=0.001', 0.001],
      ['laf+ada gamma.laf=0.1', 0.1],
    ],
  )
})

test('grid expansion: bad experiments, presets, sweeps, seeds and configs are refused naming the value', () => {
  const ex = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof GridError && re.test(e.message))
  ex(() => expandGrid(gridLibrary, 'tabel4', { seeds: [0], sweeps: [] }), /unknown experiment "tabel4"; expected one of toy/)
  ex(() => expandGrid(gridLibrary, 'toy', { preset: 'huge', seeds: [0], sweeps: [] }), /grid toy: unknown preset "huge"/)
  ex(
    () => expandGrid(gridLibrary, 'toy', { seeds: [0], sweeps: [parseSweep('epochs=0')] }),
    /run "rate 0.05 epochs=0": epochs: expected a positive integer, got 0/,
  )
  ex(
    () => expandGrid(gridLibrary, 'toy', { seeds: [0], sweeps: [parseSweep('rate=0.3')] }),
    /runs "rate 0.05 rate=0.3" and "rate 0.1 rate=0.3" have the same config/,
  )
  ex(
    () => expandGrid(paperGridLibrary, 'schemes', { preset: 'smoke', seeds: [0], sweeps: [parseSweep('batch=64')] }),
    /run "single batch=64": batch: expected at most train \(32\), got 64/,
  )
  ex(
    () => expandGrid(paperGridLibrary, 'schemes', { preset: 'smoke', seeds: [0], sweeps: [parseSweep('optimiser=sgd')] }),
    /optimiser: unknown field/,
  )
  ex(() => parseSweep('gamma'), /--sweep: expected name=v1,v2/)
  ex(() => parseSweep('gamma=0.1,,0.2'), /--sweep gamma: empty value/)
  ex(() => parseSeeds('0'), /--seeds: expected a count from 1/)
  ex(() => parseSeeds('1,x'), /--seeds: expected a count or a comma-separated list/)
  ex(() => parseSeeds('1,1'), /--seeds: repeated seed/)
  assert.deepEqual(parseSeeds('3'), [0, 1, 2])
  assert.deepEqual(parseSweep('lr=1e-3,0.5,true,cpu').values, [1e-3, 0.5, true, 'cpu'])
})

test('grid redis: malformed URLs are refused at once, backoff doubles up to its cap', async () => {
  await assert.rejects(
    probeRedis('http://localhost:6379'),
    /--redis: expected redis:\/\/host:port\[\/db\], rediss:\/\/… or unix:\/\/\/path/,
  )
  await assert.rejects(probeRedis('unix://relative.sock'), /needs an absolute path/)
  await assert.rejects(probeRedis('redis://user:secret@127.0.0.1:1/x'), (e: Error) => !e.message.includes('secret'))
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 40].map((k) => backoffMs(k, 500, 4000)),
    [500, 1000, 2000, 4000, 4000, 4000, 4000],
  )
})
