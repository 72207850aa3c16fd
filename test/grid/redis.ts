/**
 * Test fixtures for the grid: a real Debian redis-server on a free loopback port in a temp directory (stopped
 * afterwards), and worker processes running the CLI. Without redis-server the grid tests skip loudly, or fail under CI=true.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { probeRedis } from '../../src/node/grid/redis.ts'

const root = join(import.meta.dirname, '..', '..')

/** True when redis-server can be run; otherwise skips `t` with a loud message, or throws under CI=true. */
export const haveRedis = (t: TestContext): boolean => {
  if (spawnSync('redis-server', ['--version']).status === 0) return true
  const msg = 'redis-server not found: the grid tests need Debian redis-server (apt-get install redis-server; .ci/run installs it)'
  if (process.env.CI === 'true') throw new Error(msg)
  console.warn(`\n*** SKIPPED: ${msg} ***\n`)
  t.skip(msg)
  return false
}

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => res(port))
    })
  })

export const until = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> => {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export interface RedisFixture {
  readonly url: string
  readonly stop: () => Promise<void>
}

/** Starts redis-server on 127.0.0.1 (a given or free port), no persistence, in a temp directory; resolves once it answers. */
export const startRedis = async (port?: number): Promise<RedisFixture> => {
  const p = port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'softshare-redis-'))
  const proc = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  })
  const url = `redis://127.0.0.1:${p}`
  await until(
    `redis-server on ${url}`,
    () =>
      probeRedis(url, 500).then(
        () => true,
        () => false,
      ),
    15_000,
  )
  return {
    url,
    stop: async () => {
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once('exit', r))
        proc.kill('SIGTERM')
        await gone
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface WorkerProc {
  readonly proc: ChildProcess
  /** Everything the worker wrote to stderr so far. */
  readonly log: () => string
  readonly stop: () => Promise<void>
}

/**
 * Spawns `softshare grid worker` (on the toy library unless `library` is null: softshare's experiments) with short
 * lock/stall timings, so a killed worker's job is taken over in ~2 s.
 */
export const spawnWorker = (
  url: string,
  out: string,
  extra: readonly string[] = [],
  library: string | null = 'test/grid/toy-library.ts',
): WorkerProc => {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/node/cli.ts',
      'grid',
      'worker',
      '--redis',
      url,
      '--out',
      out,
      ...(library === null ? [] : ['--library', library]),
      '--lock-ms',
      '1500',
      '--stalled-ms',
      '500',
      ...extra,
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let text = ''
  proc.stderr!.on('data', (b: Buffer) => {
    text += b.toString()
  })
  return {
    proc,
    log: () => text,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const gone = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      await gone
    },
  }
}
