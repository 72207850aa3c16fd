// The conv and pooling primitives' own attribute checks, reached by building nodes directly (`bind(primitives[name],
// inputs, attrs)`, as anyone adding an op or a custom backward does): the public wrappers validate options first, so
// only this path reaches them. Each error must name the primitive, the attribute and the values it got.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'

const P = ss.primitives
const node = (name: string, shapes: number[][], attrs: Record<string, unknown>) =>
  ss.bind(
    P[name],
    shapes.map((s) => ss.zeros(s)),
    attrs,
  )
const msg = (m: string) => ({ name: 'ShapeError', message: m })
const J = JSON.stringify

// x [1,4,3,2] ⋆ w [2,2,2,3] at stride 1, no pads → y [1,3,2,3]
const X = [1, 4, 3, 2]
const W = [2, 2, 2, 3]
const Y = [1, 3, 2, 3]
const ok = { strides: [1, 1], pads: [0, 0, 0, 0] }
const convNodes: [string, number[][], Record<string, unknown>][] = [
  ['conv2d', [X, W], {}],
  ['conv2dBackInput', [Y, W], { inShape: X }],
  ['conv2dBackFilter', [X, Y], { filterShape: W }],
]
const badStrides: unknown[] = [undefined, 1, [1], [1, 1, 1], [0, 1], [1, 0], [1.5, 1], [1, -1], ['1', 1]]
const badPads: unknown[] = [undefined, 0, [0, 0, 0], [0, 0, 0, 0, 0], [-1, 0, 0, 0], [0, 0, 0, -1], [0, 0.5, 0, 0], 'same']

test('conv2d, conv2dBackInput, conv2dBackFilter primitives: bad strides or pads attrs name the op and the values', () => {
  for (const [name, shapes, extra] of convNodes) {
    assert.deepEqual(node(name, shapes, { ...ok, ...extra }).shape, name === 'conv2d' ? Y : name === 'conv2dBackInput' ? X : W)
    for (const strides of badStrides)
      assert.throws(
        () => node(name, shapes, { ...ok, ...extra, strides }),
        msg(`${name}: bad strides ${J(strides)}`),
        `${name} ${J(strides)}`,
      )
    for (const pads of badPads)
      assert.throws(() => node(name, shapes, { ...ok, ...extra, pads }), msg(`${name}: bad pads ${J(pads)}`), `${name} ${J(pads)}`)
  }
  // unequal strides and pads per side reach the output size formula one axis each: ⌊(4+1+0−2)/2⌋+1 = 2, ⌊(3+0+2−2)/1⌋+1 = 4
  const attrs = { strides: [2, 1], pads: [1, 0, 0, 2] }
  const y = node('conv2d', [X, W], attrs)
  assert.deepEqual(y.shape, [1, 2, 4, 3])
  assert.deepEqual(node('conv2dBackInput', [y.shape as number[], W], { ...attrs, inShape: X }).shape, X)
  assert.deepEqual(node('conv2dBackFilter', [X, y.shape as number[]], { ...attrs, filterShape: W }).shape, W)
})

test('conv2dBackInput / conv2dBackFilter primitives: inShape, filterShape and dy checked against the conv geometry', () => {
  for (const inShape of [undefined, [1, 4, 3], [1, 4, 3, 2, 1], 'x'])
    assert.throws(
      () => node('conv2dBackInput', [Y, W], { ...ok, inShape }),
      msg(`conv2dBackInput: inShape must be [N,H,W,Cin], got ${J(inShape)}`),
    )
  for (const filterShape of [undefined, [2, 2, 2], [2, 2, 2, 3, 1], 7])
    assert.throws(
      () => node('conv2dBackFilter', [X, Y], { ...ok, filterShape }),
      msg(`conv2dBackFilter: filterShape must be [KH,KW,Cin,Cout], got ${J(filterShape)}`),
    )
  assert.throws(
    () => node('conv2dBackInput', [[1, 3, 3, 3], W], { ...ok, inShape: X }),
    msg('conv2dBackInput: dy must have the conv output shape [1,3,2,3]: [1,3,3,3] × [2,2,2,3]'),
  )
  assert.throws(
    () => node('conv2dBackFilter', [X, [1, 3, 2, 4]], { ...ok, filterShape: W }),
    msg('conv2dBackFilter: dy must have the conv output shape [1,3,2,3]: [1,4,3,2] × [1,3,2,4]'),
  )
  // the geometry errors of the forward conv, under each primitive's own name
  assert.throws(
    () => node('conv2dBackInput', [Y, [2, 2, 3, 3]], { ...ok, inShape: X }),
    msg('conv2dBackInput: input channels 2 ≠ filter in-channels 3: [1,4,3,2] × [2,2,3,3]'),
  )
  assert.throws(
    () => node('conv2dBackFilter', [X, Y], { ...ok, filterShape: [5, 2, 2, 3] }),
    msg('conv2dBackFilter: filter 5x2 larger than padded input 4x3: [1,4,3,2] × [5,2,2,3]'),
  )
})

// pooling x [1,4,3,2] by a 2×2 window at stride 1 → [1,3,2,2]
const Q = [1, 3, 2, 2]
const pool = { size: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0] }
const poolNodes: [string, number[][], Record<string, unknown>][] = [
  ['maxPool', [X], {}],
  ['avgPool', [X], {}],
  ['maxPoolBack', [X, Q], {}],
  ['maxPoolSelect', [X, X], {}],
  ['avgPoolBack', [Q], { inShape: X }],
]

test('pooling primitives (forward, backward, select): bad size, strides or pads attrs name the op and all three', () => {
  const bad: Record<string, unknown>[] = [
    { size: undefined },
    { size: 2 },
    { size: [2] },
    { size: [2, 2, 2] },
    { size: [0, 2] },
    { size: [2, 0] },
    { size: [2, 1.5] },
    { strides: undefined },
    { strides: [1] },
    { strides: [0, 1] },
    { strides: [1, 0] },
    { strides: [1, 1, 1] },
    { pads: undefined },
    { pads: [0, 0, 0] },
    { pads: [0, 0, 0, 0, 0] },
    { pads: [-1, 0, 0, 0] },
    { pads: [0, 0, 0, -1] },
    { pads: [0, 0, 0.5, 0] },
  ]
  for (const [name, shapes, extra] of poolNodes) {
    const want = name === 'maxPool' || name === 'avgPool' || name === 'maxPoolSelect' ? Q : X
    assert.deepEqual(node(name, shapes, { ...pool, ...extra }).shape, want, name)
    // the smallest legal values: a 1×1 window, stride 1, no pads
    const one = { size: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0] }
    const oneShapes = shapes.map((s) => (s === Q ? X : s))
    assert.deepEqual(node(name, oneShapes, { ...one, ...extra }).shape, X, `${name} 1×1`)
    for (const b of bad) {
      const a = { ...pool, ...b }
      assert.throws(
        () => node(name, shapes, { ...a, ...extra }),
        msg(`${name}: bad attrs ${J({ size: a.size, strides: a.strides, pads: a.pads })}`),
        `${name} ${J(b)}`,
      )
    }
  }
})

test('pooling primitives: rank, pads against the window, and dy / g / inShape shapes are checked by each', () => {
  for (const [name, shapes, extra] of poolNodes) {
    if (name === 'avgPoolBack') continue
    assert.throws(
      () => node(name, [[4, 3, 2], ...shapes.slice(1).map(() => [4, 3, 2])], { ...pool, ...extra }),
      msg(`${name}: input must be rank 4 [N,H,W,C], got rank 3: [4,3,2]`),
    )
    assert.throws(
      () => node(name, shapes, { ...pool, pads: [0, 0, 0, 2], ...extra }),
      msg(`${name}: pads [0,0,0,2] must be smaller than the window 2x2: [1,4,3,2]`),
    )
  }
  assert.throws(
    () => node('maxPoolBack', [X, [1, 3, 3, 2]], pool),
    msg('maxPoolBack: dy must have the pooled shape [1,3,2,2]: [1,4,3,2] × [1,3,3,2]'),
  )
  assert.throws(
    () => node('maxPoolSelect', [X, [1, 4, 3, 1]], pool),
    msg('maxPoolSelect: x and g must have one shape: [1,4,3,2] × [1,4,3,1]'),
  )
  for (const inShape of [undefined, [1, 4, 3], [1, 4, 3, 2, 1], 'x'])
    assert.throws(() => node('avgPoolBack', [Q], { ...pool, inShape }), msg(`avgPoolBack: inShape must be [N,H,W,C], got ${J(inShape)}`))
  assert.throws(
    () => node('avgPoolBack', [[1, 2, 2, 2]], { ...pool, inShape: X }),
    msg('avgPoolBack: dy must have the pooled shape [1,3,2,2] of inShape [1,4,3,2]: [1,2,2,2]'),
  )
  assert.throws(
    () => node('avgPoolBack', [Q], { ...pool, size: [5, 1], inShape: X }),
    msg('avgPoolBack: window 5x1 larger than padded input 4x3: [1,4,3,2]'),
  )
})

test('conv2dPrim: input or filter of the wrong rank, named with both shapes; conv2d names them before resolving pads', () => {
  assert.throws(() => node('conv2d', [[4, 3, 2], W], ok), msg('conv2d: input must be rank 4 [N,H,W,Cin], got rank 3: [4,3,2] × [2,2,2,3]'))
  assert.throws(
    () => node('conv2d', [X, [2, 2, 2]], ok),
    msg('conv2d: filter must be rank 4 [KH,KW,Cin,Cout], got rank 3: [1,4,3,2] × [2,2,2]'),
  )
  assert.throws(
    () => ss.conv2d(ss.zeros([4, 3, 2]), ss.zeros(W)),
    msg('conv2d: input [N,H,W,Cin] and filter [KH,KW,Cin,Cout] must be rank 4: [4,3,2] × [2,2,2,3]'),
  )
  assert.throws(
    () => ss.conv2d(ss.zeros(X), ss.zeros([2, 2, 2])),
    msg('conv2d: input [N,H,W,Cin] and filter [KH,KW,Cin,Cout] must be rank 4: [1,4,3,2] × [2,2,2]'),
  )
})

test('window beyond the padded input: the padded size in the message adds the pads of both sides (conv2d, pooling)', () => {
  const pads = [1, 2, 2, 1] // padded input 7x6
  assert.throws(
    () => node('conv2d', [X, [8, 2, 2, 3]], { strides: [1, 1], pads }),
    msg('conv2d: filter 8x2 larger than padded input 7x6: [1,4,3,2] × [8,2,2,3]'),
  )
  for (const name of ['maxPool', 'avgPool'])
    assert.throws(
      () => node(name, [X], { size: [3, 7], strides: [1, 1], pads }),
      msg(`${name}: window 3x7 larger than padded input 7x6: [1,4,3,2]`),
    )
})

test('conv2d / maxPool / avgPool options: strides and explicit padding of the wrong form are named with the value given', () => {
  const x = ss.zeros(X)
  const w = ss.zeros(W)
  const ops: [string, (o: { strides?: unknown; padding?: unknown }) => unknown][] = [
    ['conv2d', (o) => ss.conv2d(x, w, o as ss.Conv2dOptions)],
    ['maxPool', (o) => ss.maxPool(x, { size: 2, ...o } as ss.PoolOptions)],
    ['avgPool', (o) => ss.avgPool(x, { size: 2, ...o } as ss.PoolOptions)],
  ]
  for (const [name, f] of ops) {
    for (const strides of [[1, 1, 1], [1], [1, 0], [0, 1], 'x', 0, 1.5])
      assert.throws(
        () => f({ strides }),
        msg(`${name}: strides must be a positive integer or a pair of them, got ${J(strides)}`),
        `${name} ${J(strides)}`,
      )
    const badPadding = [
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      [[0, 0]],
      [
        [0, 0, 0],
        [0, 0],
      ],
      [[0], [0]],
      [
        [0, 0],
        [0, -1],
      ],
      [
        [-1, 0],
        [0, 0],
      ],
      [
        [0, 0.5],
        [0, 0],
      ],
      'full',
      'ab',
      3,
    ]
    for (const padding of badPadding)
      assert.throws(
        () => f({ padding }),
        msg(`${name}: padding must be 'same', 'valid' or [[top, bottom], [left, right]] of non-negative integers, got ${J(padding)}`),
        `${name} ${J(padding)}`,
      )
  }
})
