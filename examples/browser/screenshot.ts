/**
 * Trains the demo page in headless Chromium, saves a full-page screenshot and prints the backend and the
 * median images/s (the README's picture and figures).
 *
 *   npm run build && npx tsx examples/browser/screenshot.ts [--query 'autostart=1&steps=120&evalEvery=15']
 *     [--out examples/browser/screenshot.png] [--webgpu]   # --webgpu: Chromium's WebGPU (software adapter here)
 */
import { driveDemo, findChromium, launchChromium } from './drive.ts'
import { serveDemo } from './serve.ts'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}
const chromium = findChromium()
if (!chromium) {
  process.stderr.write('screenshot: no chromium found (set CHROMIUM_PATH or `apt-get install chromium`)\n')
  process.exit(1)
}
const query = arg('query', 'autostart=1&steps=120&evalEvery=15')
const out = arg('out', 'examples/browser/screenshot.png')
const srv = await serveDemo({ port: 0 })
const browser = await launchChromium(chromium, process.argv.includes('--webgpu') ? ['--enable-unsafe-webgpu'] : [])
try {
  const t0 = performance.now()
  const { state, pageErrors, consoleErrors } = await driveDemo(browser, `${srv.url}?${query}`, { timeoutMs: 3_600_000, screenshot: out })
  const speeds = [...state.speeds].sort((a, b) => a - b)
  const median = speeds[Math.floor(speeds.length / 2)] ?? Number.NaN
  console.log(`backend: ${state.backend} (${state.threads} threads); ${state.notes.join('; ')}`)
  console.log(
    `${state.done || 'not done'}: median ${median.toFixed(1)} images/s over ${speeds.length} rounds; ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  )
  for (const e of [...pageErrors, ...consoleErrors, ...state.errors]) console.log(`error: ${e}`)
  console.log(`screenshot: ${out}`)
} finally {
  await browser.close()
  await srv.close()
}
