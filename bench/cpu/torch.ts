/**
 * The PyTorch contender of `npm run bench -- cpu`: bench/cpu/torch_bench.py as a child process answering one
 * JSON request per line, so its calls interleave with the other contenders'. Found through `TORCH_PYTHON`
 * (a Python with torch) or `python3`; absent when neither imports torch. Runs with 2 threads and
 * OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads would otherwise spin and slow every other contender).
 */
import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface Torch {
  readonly version: string
  /** Wall seconds of one call of the request (timed inside Python, IPC excluded). */
  readonly call: (req: Record<string, unknown>) => Promise<number>
  readonly close: () => void
}

/** Starts the PyTorch server, or returns the reason it is absent. */
export const loadTorch = async (threads = 2): Promise<Torch | string> => {
  const python = process.env.TORCH_PYTHON ?? 'python3'
  const env = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: String(threads), PYTHONWARNINGS: 'ignore' }
  const probe = spawnSync(python, ['-c', 'import torch'], { env, encoding: 'utf8' })
  if (probe.status !== 0) return `absent (${python} cannot import torch; set TORCH_PYTHON to a Python that can)`
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_bench.py')
  const child = spawn(python, [script, String(threads)], { env, stdio: ['pipe', 'pipe', 'ignore'] })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next()
    if (r.done) throw new Error('bench: the PyTorch process exited')
    return JSON.parse(r.value)
  }
  const hello = await next()
  return {
    version: `${hello.version} (${hello.threads} threads)`,
    call: async (req) => {
      child.stdin.write(`${JSON.stringify(req)}\n`)
      const r = await next()
      if (typeof r.secs !== 'number') throw new Error(`bench: PyTorch answered ${JSON.stringify(r)} to ${JSON.stringify(req)}`)
      return r.secs
    },
    close: () => {
      child.stdin.end()
      child.kill()
    },
  }
}
