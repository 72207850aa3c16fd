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
  console.log(`gradient-checked primitives: ${names.length - missing.length} of ${names.length}`)
  // every case runs a VJP-vs-central-differences property, so every primitive needs a VJP
  const noVjp = names.filter((n) => !primitives[n].vjp)
  assert.deepEqual(noVjp, [], `primitives without a VJP: ${noVjp.join(', ')}`)
  assert.deepEqual(missing, [], `primitives without properties: ${missing.join(', ')}`)
  assert.deepEqual(unknown, [], `cases naming no primitive: ${unknown.join(', ')}`)
  for (const be of parityBackends()) {
    const noKernel = names.filter((n) => !primitives[n].alias && !be.has(primitives[n]))
    assert.deepEqual(noKernel, [], `${be.name} lacks kernels for: ${noKernel.join(', ')}`)
  }
})
