// Stands in for `node:test` while the in-process mutation runner loads test files: `test`/`it` register a test
// instead of running it, `describe` names a group, `before` runs once after the file loads and `after` at the end.
// The runner (node-test-runner.mjs) then runs the registered tests as often as it likes, one mutant at a time.
import { mock } from 'node:test'

const registry = () => globalThis.__softshareMutationTests
const groups = []

/** `test(name, [options], fn)`: registered under the file being loaded, skipped when `options.skip` is truthy. */
export const test = (name, options, fn) => {
  const f = typeof options === 'function' ? options : fn
  const o = typeof options === 'object' && options !== null ? options : {}
  if (o.skip || o.todo || typeof f !== 'function') return
  registry().add([...groups, name].join(' > '), f)
}
test.skip = () => {}
test.todo = () => {}
export const it = test

/** `describe(name, [options], fn)`: runs `fn` at once so its tests register with the group's name in front. */
export const describe = (name, options, fn) => {
  const f = typeof options === 'function' ? options : fn
  const o = typeof options === 'object' && options !== null ? options : {}
  if (o.skip || typeof f !== 'function') return
  groups.push(name)
  try {
    f()
  } finally {
    groups.pop()
  }
}
describe.skip = () => {}

export const before = (fn) => registry().before(fn)
export const after = (fn) => registry().after(fn)
export const beforeEach = () => {
  throw new Error('node-test-shim: beforeEach is not supported by the in-process mutation runner')
}
export const afterEach = beforeEach
export { mock }
