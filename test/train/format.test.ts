// The training loop's text: epoch lines, durations, the live progress bar, and the argument checks of fit.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fit, formatDuration, formatEpoch } from '../../src/train/loop.ts'

test('formatDuration: 42s, 3m05s, 1h02m at the boundaries; negative is 0s, non-finite is ?', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [-5, '0s'],
    [42.4, '42s'],
    [59.4, '59s'],
    [59.6, '1m00s'],
    [60, '1m00s'],
    [185, '3m05s'],
    [3599, '59m59s'],
    [3600, '1h00m'],
    [3725, '1h02m'],
    [7322, '2h02m'],
    [Number.NaN, '?'],
    [Number.POSITIVE_INFINITY, '?'],
  ]
  for (const [s, want] of cases) assert.equal(formatDuration(s), want, `formatDuration(${s})`)
})

test('formatEpoch: label, epoch of epochs, seconds, metrics in fixed or exponential notation', () => {
  assert.equal(formatEpoch(3, 10, 4.24, { loss: 0.12345, acc: 0.5 }), 'Epoch 3/10 - 4.2s - loss=0.1235 - acc=0.5000')
  assert.equal(
    formatEpoch(1, 2, 0, { big: 12345, small: 0.0001234, zero: 0, neg: -20000 }, 'laf'),
    'laf Epoch 1/2 - 0.0s - big=1.235e+4 - small=1.234e-4 - zero=0.0000 - neg=-2.000e+4',
  )
})

test('fit: progress bar per step (known and unknown epoch length, ETA), cleared after each epoch; bad epochs and resume cursors are named', async () => {
  const lines: string[] = []
  const infos: unknown[] = []
  const step = async (s: { n: number }, b: number) => ({ n: s.n + b, metrics: { loss: b } })
  await fit(
    { n: 0 },
    {
      epochs: 2,
      stepsPerEpoch: 4,
      batches: () => [1, 2, 3, 4],
      step,
      print: null,
      label: ' run ',
      progress: (l, info) => {
        lines.push(l)
        if (info) infos.push(info)
      },
    },
  )
  assert.equal(lines.length, 10)
  assert.equal(lines[4], '')
  assert.equal(lines[9], '')
  assert.match(lines[0], /^1\/4 \[={6} {18}\] ETA \S+ loss=1\.0000$/)
  assert.match(lines[1], /^2\/4 \[={12} {12}\] ETA \S+ loss=1\.5000$/)
  assert.match(lines[3], /^4\/4 \[={24}\] ETA \S+ loss=2\.5000$/)
  const last = infos[7] as { label: string; epoch: number; epochs: number; batch: number; batches: number; eta: number; rate: number }
  assert.deepEqual([last.label, last.epoch, last.epochs, last.batch, last.batches, last.eta], ['run', 2, 2, 4, 4, 0])
  assert.ok(last.rate > 0)
  const first = infos[0] as { eta: number; rate: number }
  assert.ok(Math.abs(first.eta - 7 / first.rate) < 1e-6 * first.eta, `eta ${first.eta} = 7 steps left / rate`)
  const open: string[] = []
  await fit({ n: 0 }, { epochs: 1, batches: () => [1, 2], step, print: null, progress: (l) => open.push(l) })
  assert.deepEqual(open, ['1 [                        ] loss=1.0000', '2 [                        ] loss=1.5000', ''])
  for (const epochs of [-1, 1.5])
    await assert.rejects(fit({ n: 0 }, { epochs, batches: () => [], step, print: null }), {
      name: 'RangeError',
      message: `fit: epochs must be a non-negative integer, got ${epochs}`,
    })
  for (const [epoch, batch] of [
    [-1, 0],
    [0, -1],
    [0.5, 0],
    [0, 0.5],
  ])
    await assert.rejects(
      fit(
        { n: 0 },
        { epochs: 1, batches: () => [], step, print: null, resume: { epoch, batch, sums: {}, count: 0, wall: 0, history: [] } },
      ),
      { message: `fit: resume cursor must have non-negative integer epoch and batch, got epoch ${epoch}, batch ${batch}` },
    )
})
