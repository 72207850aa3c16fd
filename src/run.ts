/**
 * `run` / `runSync` as the package exports them: the executor's, plus a backend given by name
 * (`'cpu'`, `'ref'`, `'gpu'`, `'auto'`). A name builds a fresh backend per call (kernels compiled anew):
 * pass a `Backend` value to reuse one. The executor itself (`autodiff/run.ts`) takes only values, so it
 * never pulls in every backend.
 */
import { type Results, type RunOptions, run as runOn, runSync as runSyncOn } from './autodiff/run.ts'
import type { Backend } from './backend/backend.ts'
import { type BackendName, createBackend, createSyncBackend } from './backend/select.ts'

/** `RunOptions` whose backend may also be a name. */
export type NamedRunOptions = Omit<RunOptions, 'backend'> & { readonly backend: Backend<any> | BackendName }

/** Evaluates a tree of symbolic tensors on a backend (value or name); resolves to the same tree of host tensors. */
export const run = async <T>(outputs: T, opts: NamedRunOptions): Promise<Results<T>> =>
  runOn(outputs, { ...opts, backend: typeof opts.backend === 'string' ? await createBackend(opts.backend) : opts.backend })

/** Synchronous `run` for the synchronous backends (`cpu`, `ref`, by value or name). */
export const runSync = <T>(outputs: T, opts: NamedRunOptions): Results<T> =>
  runSyncOn(outputs, { ...opts, backend: typeof opts.backend === 'string' ? createSyncBackend(opts.backend) : opts.backend })
