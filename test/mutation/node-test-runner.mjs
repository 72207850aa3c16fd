// A StrykerJS test runner ('node-test') that loads the node:test files once, in Stryker's own worker process, and
// then runs single tests per mutant: per-test coverage (each mutant runs only the tests that reached it, not whole
// files) and no process start per mutant. Test files import `node:test` as usual; a resolve hook hands them
// node-test-shim.mjs, which registers their tests here instead of running them. Static mutants (reached while the
// files load) get a fresh process from Stryker (capability reloadEnvironment: false) and load with the mutant on.
// Safe for code whose results are not cached across runs; src/backend/cpu (module-level compiled-loop caches) uses
// the tap runner instead (stryker.conf.mjs).
import { register } from 'node:module'
import { resolve as resolvePath } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { commonTokens, declareClassPlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin'
import { DryRunStatus, determineHitLimitReached, MutantRunStatus, TestStatus, toMutantRunResult } from '@stryker-mutator/api/test-runner'

const shimUrl = new URL('./node-test-shim.mjs', import.meta.url).href
const hook = `export async function resolve(specifier, context, next) {
  if (specifier === 'node:test' && context.parentURL !== ${JSON.stringify(shimUrl)}) return { url: ${JSON.stringify(shimUrl)}, shortCircuit: true }
  return next(specifier, context)
}`

const ns = () => {
  globalThis.__stryker__ ??= {}
  return globalThis.__stryker__
}

class NodeTestRunner {
  static inject = tokens(commonTokens.options, commonTokens.logger)
  constructor(options, log) {
    this.log = log
    this.testFiles = options.nodeTest?.testFiles ?? []
    this.tests = []
    this.afters = []
  }

  capabilities() {
    return { reloadEnvironment: false }
  }

  async init() {
    const { register: registerTsx } = await import('tsx/esm/api')
    registerTsx()
    register(`data:text/javascript,${encodeURIComponent(hook)}`)
    // a rejection nobody awaited fails the test that is running instead of ending the process
    process.on('unhandledRejection', (e) => {
      this.stray ??= e
    })
  }

  /** Imports those of `files` not loaded yet (default: the whole suite, in its order) and registers their tests. */
  async load(files = this.testFiles) {
    this.loadedFiles ??= new Set()
    for (const file of files) {
      if (this.loadedFiles.has(file)) continue
      this.loadedFiles.add(file)
      const ids = new Set()
      this.loading = file
      const befores = []
      globalThis.__softshareMutationTests = {
        add: (name, fn) => {
          let id = `${file} > ${name}`
          for (let k = 2; ids.has(id); k++) id = `${file} > ${name} (${k})`
          ids.add(id)
          this.tests.push({ id, name, file, fn })
        },
        before: (fn) => befores.push(fn),
        after: (fn) => this.afters.push(fn),
      }
      await import(pathToFileURL(resolvePath(file)).href)
      for (const fn of befores) await fn()
    }
  }

  /** Runs `tests` in order; the first failure ends the run unless `all`. */
  async runTests(tests, { all, coverage }) {
    const { mock } = await import('node:test')
    const results = []
    for (const t of tests) {
      const start = performance.now()
      if (coverage) ns().currentTestId = t.id
      this.stray = undefined
      let failure
      try {
        const ctx = { name: t.name, mock, diagnostic: () => {}, skip: () => {}, todo: () => {} }
        await t.fn(ctx)
        // let a rejection from this test's floating promises surface before it counts as passed
        await new Promise((r) => setImmediate(r))
        if (this.stray !== undefined) throw this.stray
      } catch (e) {
        failure = e instanceof Error ? `${e.message}` : String(e)
      } finally {
        mock.restoreAll()
        ns().currentTestId = undefined
      }
      const base = { id: t.id, name: t.name, fileName: t.file, timeSpentMs: performance.now() - start }
      results.push(
        failure === undefined ? { ...base, status: TestStatus.Success } : { ...base, status: TestStatus.Failed, failureMessage: failure },
      )
      if (failure !== undefined && !all) break
    }
    return results
  }

  async dryRun(options) {
    ns().mutantCoverage ??= { static: {}, perTest: {} }
    await this.load()
    const tests = await this.runTests(this.tests, { all: true, coverage: options.coverageAnalysis !== 'off' })
    const failed = tests.filter((t) => t.status === TestStatus.Failed)
    if (failed.length) this.log.error(`failing tests: ${failed.map((t) => `${t.id}: ${t.failureMessage}`).join('\n')}`)
    return { status: DryRunStatus.Complete, tests, mutantCoverage: ns().mutantCoverage }
  }

  async mutantRun(options) {
    const s = ns()
    s.activeMutant = options.activeMutant.id
    try {
      // a static mutant arrives in a fresh process and must be active while the files load; a file that then fails
      // to load fails the run, as it would under node --test
      // a new process (after a static mutant, or one per mutant under maxTestRunnerReuse: 1) imports only the files
      // of the tests that reached this mutant (a test id starts with its file), or the whole suite for a static one
      const needed = options.testFilter && new Set(options.testFilter.map((id) => id.slice(0, id.indexOf(' > '))))
      const files = needed ? this.testFiles.filter((f) => needed.has(f)) : this.testFiles
      if (files.some((f) => !this.loadedFiles?.has(f))) {
        try {
          await this.load(files)
        } catch (e) {
          return {
            status: MutantRunStatus.Killed,
            killedBy: [this.loading],
            failureMessage: `loading ${this.loading}: ${e instanceof Error ? e.message : String(e)}`,
          }
        }
      }
      s.hitLimit = options.hitLimit
      s.hitCount = options.hitLimit === undefined ? undefined : 0
      const filter = options.testFilter ? new Set(options.testFilter) : undefined
      const tests = filter ? this.tests.filter((t) => filter.has(t.id)) : this.tests
      const results = await this.runTests(tests, { all: options.disableBail, coverage: false })
      const limit = determineHitLimitReached(s.hitCount, s.hitLimit)
      if (limit) return toMutantRunResult(limit)
      return toMutantRunResult({ status: DryRunStatus.Complete, tests: results })
    } finally {
      s.activeMutant = undefined
      s.hitLimit = undefined
      s.hitCount = undefined
    }
  }

  async dispose() {
    for (const fn of this.afters) await fn()
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, 'node-test', NodeTestRunner)]

export const strykerValidationSchema = {
  $schema: 'http://json-schema.org/draft-07/schema',
  type: 'object',
  properties: {
    nodeTest: {
      type: 'object',
      properties: { testFiles: { type: 'array', items: { type: 'string' } } },
      additionalProperties: false,
    },
  },
}
