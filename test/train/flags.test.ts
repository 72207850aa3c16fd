import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bestOf, parseQuickstart, presets, toExperimentConfig } from '../../examples/quickstart-config.ts'
import { flag, parseFlags } from '../../src/train/flags.ts'

test('parseFlags: values decoded by io-ts codecs, both --name value and --name=value', () => {
  const r = parseFlags(['--epochs', '3', '--lr=0.5', '--runs', 'a,b'], {
    epochs: flag.positiveInt,
    lr: flag.positiveNumber,
    runs: flag.listOf(['a', 'b', 'c'] as const),
  })
  assert.equal(r._tag, 'Right')
  if (r._tag === 'Right') assert.deepEqual(r.right, { epochs: 3, lr: 0.5, runs: ['a', 'b'] })
})

test('parseFlags: clear messages for bad values, unknown flags and missing values', () => {
  const r = parseFlags(['--epochs', 'abc', '--lr', '-1', '--nope', '1', '--runs', 'a,z', '--seed'], {
    epochs: flag.positiveInt,
    lr: flag.positiveNumber,
    runs: flag.listOf(['a', 'b'] as const),
    seed: flag.int,
  })
  assert.equal(r._tag, 'Left')
  if (r._tag === 'Left')
    assert.deepEqual(r.left, [
      '--epochs: expected a positive integer, got "abc"',
      '--lr: expected a positive number, got "-1"',
      '--nope: unknown flag (known: --epochs, --lr, --runs, --seed)',
      '--runs: expected a comma-separated list of a, b, got "a,z"',
      '--seed: expected an integer, got nothing',
    ])
})

test('quickstart config: preset then flags; cross-field checks', () => {
  const ok = parseQuickstart(['--preset', 'small', '--epochs', '2'])
  assert.ok(ok.ok)
  if (ok.ok) assert.deepEqual({ ...ok.config, epochs: presets.small.epochs }, presets.small)
  if (ok.ok) assert.equal(ok.config.epochs, 2)
  const bad = parseQuickstart(['--epochs', '0', '--preset', 'huge'])
  assert.ok(!bad.ok)
  if (!bad.ok)
    assert.deepEqual(bad.errors, [
      '--epochs: expected a positive integer, got "0"',
      '--preset: expected one of default, small, paper, got "huge"',
    ])
  const big = parseQuickstart(['--batch', '1000', '--train', '100'])
  assert.ok(!big.ok && big.errors[0] === '--batch: expected at most --train (100), got 1000')
})

test('quickstart validation: a split by default, best by val_err (or a chosen metric), the training loss without one', () => {
  const def = parseQuickstart([])
  assert.ok(def.ok && def.config.val === 256 && toExperimentConfig(def.config).val === 256)
  if (def.ok) assert.deepEqual(bestOf(def.config), { metric: 'val_err', mode: 'min' })
  const acc = parseQuickstart(['--best-metric', 'val_acc'])
  if (acc.ok) assert.deepEqual(bestOf(acc.config), { metric: 'val_acc', mode: 'max' })
  const none = parseQuickstart(['--val', '0'])
  if (none.ok) assert.deepEqual(bestOf(none.config), { metric: 'loss', mode: 'min' })
  assert.ok(acc.ok && none.ok)
  const bad = parseQuickstart(['--val', '0', '--best-metric', 'val_nme'])
  assert.deepEqual(bad.ok ? [] : bad.errors, ['--best-metric: val_nme needs a validation split (--val > 0), got --val 0'])
  const typo = parseQuickstart(['--best-metric', 'acc'])
  assert.deepEqual(typo.ok ? [] : typo.errors, ['--best-metric: expected one of val_err, val_acc, val_nme, loss, got "acc"'])
})
