/**
 * Drives the demo page in a headless Chromium through puppeteer-core (the system browser: nothing is
 * downloaded). Used by test/browser/demo.test.ts and by screenshot.ts, which made the README's picture.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'
import type { DemoState } from './demo.ts'

/** The system Chromium: $CHROMIUM_PATH, else Debian's and other usual paths; undefined when none exists. */
export const findChromium = (): string | undefined =>
  [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
    (p): p is string => !!p && existsSync(p),
  )

/** Headless Chromium without the sandbox (containers and CI run as root); `args` adds switches (e.g. for WebGPU). */
export const launchChromium = (executablePath: string, args: readonly string[] = []): Promise<Browser> =>
  puppeteer.launch({
    executablePath,
    headless: true,
    protocolTimeout: 3_600_000,
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...args],
  })

/** Writes a file so that a crash leaves the old one or the new one: temp file in the same folder, fsync, rename, fsync folder. */
export const writeAtomic = (path: string, bytes: Uint8Array): void => {
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeFileSync(fd, bytes)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  const dir = openSync(dirname(path), 'r')
  try {
    fsyncSync(dir)
  } finally {
    closeSync(dir)
  }
}

export interface DriveResult {
  readonly state: DemoState
  /** Uncaught page errors and console errors, with their text. */
  readonly pageErrors: readonly string[]
  readonly consoleErrors: readonly string[]
}

/**
 * Opens `url` (the page with its query, e.g. `autostart=1&steps=8`), waits until training ends or
 * `timeoutMs` passes, saves a full-page screenshot when asked, and returns the page's state.
 */
export const driveDemo = async (
  browser: Browser,
  url: string,
  opts: { readonly timeoutMs: number; readonly screenshot?: string; readonly width?: number },
): Promise<DriveResult> => {
  const page = await browser.newPage()
  const pageErrors: string[] = []
  const consoleErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(String((e as Error).stack ?? e)))
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${m.text()} ${m.location().url ?? ''}`)
  })
  try {
    await page.setViewport({ width: opts.width ?? 1200, height: 900 })
    await page.goto(url, { waitUntil: 'load' })
    await page
      .waitForFunction(
        () => {
          const s = (globalThis as { softshareDemo?: DemoState }).softshareDemo
          return !s || (!s.running && (s.done !== '' || s.errors.length > 0 || s.config === undefined))
        },
        { timeout: opts.timeoutMs, polling: 500 },
      )
      .catch((e: Error) => pageErrors.push(`gave up waiting: ${e.message}`))
    await new Promise((r) => setTimeout(r, 300)) // one animation frame for the last redraw
    if (opts.screenshot) writeAtomic(opts.screenshot, await page.screenshot({ fullPage: true }))
    const state = await page.evaluate(() => (globalThis as { softshareDemo?: DemoState }).softshareDemo)
    if (!state) throw new Error(`driveDemo: the demo script did not load at ${url}`)
    return { state, pageErrors, consoleErrors }
  } finally {
    await page.close()
  }
}
