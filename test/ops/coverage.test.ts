import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import { primitives } from '../../src/index.ts'
import { hasVjpProperty, parityBackends } from '../harness.ts'
import { allCases } from './cases/index.ts'

/** Primitives whose every input is integer-valued (labels): nothing to differentiate, so no VJP property can exist. */
const noDifferentiableInput = ['oneHot']

test('every primitive has a VJP property (something to differentiate) and a parity property on every backend', () => {
  const names = Object.keys(primitives)
  const withParity = new Set(allCases.map((c) => c.prim))
  // a case with wrt: [] checks a zero direction against a zero finite difference: it cannot fail, so it does not count
  const withVjp = new Set(allCases.filter(hasVjpProperty).map((c) => c.prim))
  const missing = names.filter((n) => !withParity.has(n))
  const noVjpProperty = names.filter((n) => !withVjp.has(n))
  const unknown = [...withParity].filter((n) => !(n in primitives))
  console.log(
    `gradient-checked primitives: ${names.length - noVjpProperty.length} of ${names.length} (parity-checked: ${names.length - missing.length})`,
  )
  // every primitive needs a VJP rule (one returning null for inputs that carry no gradient)
  const noVjp = names.filter((n) => !primitives[n].vjp)
  assert.deepEqual(noVjp, [], `primitives without a VJP: ${noVjp.join(', ')}`)
  assert.deepEqual(missing, [], `primitives without properties: ${missing.join(', ')}`)
  assert.deepEqual(noVjpProperty, noDifferentiableInput, `primitives without a VJP property: ${noVjpProperty.join(', ')}`)
  assert.deepEqual(unknown, [], `cases naming no primitive: ${unknown.join(', ')}`)
  for (const be of parityBackends()) {
    const noKernel = names.filter((n) => !primitives[n].alias && !be.has(primitives[n]))
    assert.deepEqual(noKernel, [], `${be.name} lacks kernels for: ${noKernel.join(', ')}`)
  }
})

test('primitives with no differentiable input send no gradient to it (their VJP returns null)', () => {
  const labels = ops.tensor64([0, 2, 1], [3])
  const y = ops.oneHot(labels, 3)
  const back = y.prim.vjp!(ops.lift(ops.ones(y.shape)), [ops.lift(labels)], y, y.attrs)
  assert.deepEqual(back, [null])
})
