/** Redis connections for the grid: URL checks, a probe whose error names the URL, and a backoff schedule for workers. */
import { Redis, type RedisOptions } from 'ioredis'
import { GridError } from './expand.ts'

/** The URL without its password, for messages. */
export const showUrl = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')

/** ioredis options for `redis://`, `rediss://` or `unix:///path/to/socket` URLs; anything else is refused with the URL. */
const target = (url: string): { url?: string; path?: string } => {
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length)
    if (!path.startsWith('/'))
      throw new GridError(`--redis: a unix socket URL needs an absolute path (unix:///run/redis.sock), got "${url}"`)
    return { path }
  }
  if (!/^rediss?:\/\/[^/\s]+(\/\d+)?$/.test(url))
    throw new GridError(`--redis: expected redis://host:port[/db], rediss://… or unix:///path/to/socket, got "${showUrl(url)}"`)
  return { url }
}

const client = (url: string, opts: RedisOptions): Redis => {
  const t = target(url)
  return t.path !== undefined ? new Redis({ ...opts, path: t.path }) : new Redis(t.url!, opts)
}

/** Exponential backoff: `base · 2^attempt`, capped at `max` (ms). */
export const backoffMs = (attempt: number, base: number, max: number): number => Math.min(max, base * 2 ** Math.min(attempt, 30))

/** Connects once (no retries) and pings; throws GridError `cannot reach Redis at URL: reason`. */
export const probeRedis = async (url: string, timeoutMs = 3000): Promise<void> => {
  const r = client(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  })
  let cause: Error | undefined // ioredis rejects connect() with "Connection is closed"; the 'error' event says why
  r.on('error', (e: Error) => {
    cause ??= e
  })
  try {
    await r.connect()
    await r.ping()
  } catch (e) {
    throw new GridError(`cannot reach Redis at ${showUrl(url)}: ${(cause ?? (e as Error)).message || String(e)}`)
  } finally {
    r.disconnect()
  }
}

/**
 * A connection for BullMQ (no per-command retry limit, as BullMQ requires); after a drop it reconnects with
 * backoff and says so on `log`, naming the URL.
 */
export const openRedis = (url: string, log: (line: string) => void, backoff = { base: 500, max: 30_000 }): Redis => {
  const r = client(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => {
      const ms = backoffMs(times - 1, backoff.base, backoff.max)
      log(`lost Redis at ${showUrl(url)}; reconnecting in ${(ms / 1000).toFixed(1)} s (attempt ${times})`)
      return ms
    },
  })
  r.on('error', (e: Error) => log(`Redis at ${showUrl(url)}: ${e.message}`))
  return r
}

/** Probes until Redis answers, logging each failure with the URL and the next delay; for workers, which must outlive a Redis restart. */
export const waitForRedis = async (
  url: string,
  log: (line: string) => void,
  backoff = { base: 500, max: 30_000 },
  sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
): Promise<void> => {
  target(url) // a malformed URL is refused at once, not retried
  for (let attempt = 0; ; attempt++) {
    try {
      await probeRedis(url)
      if (attempt > 0) log(`reached Redis at ${showUrl(url)} after ${attempt} failed attempt${attempt === 1 ? '' : 's'}`)
      return
    } catch (e) {
      const ms = backoffMs(attempt, backoff.base, backoff.max)
      log(`${(e as Error).message}; retrying in ${(ms / 1000).toFixed(1)} s`)
      await sleep(ms)
    }
  }
}
