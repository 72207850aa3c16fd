import assert from 'node:assert/strict'
import { test } from 'node:test'
import { primitives } from '../../src/index.ts'
import { parityBackends } from '../harness.ts'
import { allCases } from './cases/index.ts'

test('every primitive has a VJP property and a parity property on every backend', () => {
  const covered = new Set(allCases.map((c) => c.prim))
  const names = Object.keys(primitives)
  const missing = names.filter((n) => !covered.has(n))
  const unknown = [...covered].filter((n) => !(n in primitives))
  const nondiff = new Set(allCases.filter((c) => c.nondiff).map((c) => c.prim))
  console.log(`gradient-checked primitives: ${names.length - missing.length - nondiff.size} of ${names.length} (+ ${nondiff.size} without VJP, checked to throw: ${[...nondiff].join(', ')})`)
  // a primitive without a VJP must say so in its case, and one with a VJP must be gradient-checked
  for (const n of names) assert.equal(nondiff.has(n), !primitives[n].vjp, `${n}: nondiff case flag must match the absence of a VJP`)
  assert.deepEqual(missing, [], `primitives without properties: ${missing.join(', ')}`)
  assert.deepEqual(unknown, [], `cases naming no primitive: ${unknown.join(', ')}`)
  for (const be of parityBackends()) {
    const noKernel = names.filter((n) => !primitives[n].alias && !be.has(n))
    assert.deepEqual(noKernel, [], `${be.name} lacks kernels for: ${noKernel.join(', ')}`)
  }
})
