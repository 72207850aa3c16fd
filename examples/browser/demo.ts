/**
 * The demo page: starts and stops the training worker, keeps what it reports, and redraws the charts, the
 * table and the grid of test faces. Errors from the page, the worker or a bad URL parameter go to #errors.
 * `window.softshareDemo` holds the same state for tests (test/browser/demo.test.ts).
 */
import { expressionNames } from '../../src/data/face-model.ts'
import { type DemoConfig, parseConfig, RUN_KINDS, type RunKind } from './config.ts'
import { barChart, drawFace, drawLandmarks, lineChart, prepare, type Series } from './draw.ts'
import type { BackendChoice, FromWorker, ToWorker } from './protocol.ts'

const COLORS: Record<RunKind, string> = { single: '#777', laf: '#d62728', 'laf+ada': '#1f77b4' }
type Eval = Extract<FromWorker, { type: 'eval' }>

export interface DemoState {
  running: boolean
  done: string
  backend: string
  notes: readonly string[]
  imagesPerSecond: number
  /** Images per second of every round so far (the status line shows the last). */
  speeds: number[]
  threads: number
  config: DemoConfig | undefined
  /** Per run: [step, task loss] of every training step. */
  losses: Partial<Record<RunKind, [number, number][]>>
  evals: Partial<Record<RunKind, Eval[]>>
  faces: Extract<FromWorker, { type: 'faces' }> | undefined
  errors: string[]
}

const state: DemoState = {
  running: false,
  done: '',
  backend: '',
  notes: [],
  imagesPerSecond: 0,
  speeds: [],
  threads: 0,
  config: undefined,
  losses: {},
  evals: {},
  faces: undefined,
  errors: [],
}
;(globalThis as { softshareDemo?: DemoState }).softshareDemo = state

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const params = new URLSearchParams(location.search)

const showError = (what: string, e: unknown): void => {
  const msg = `${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`
  state.errors.push(msg)
  $('errors').textContent = state.errors.join('\n\n')
  document.title = 'softshare demo: error'
}
addEventListener('error', (e) => showError('page error', e.error ?? e.message))
addEventListener('unhandledrejection', (e) => showError('page error', e.reason))

const runsOn = (): RunKind[] => RUN_KINDS.filter((k) => $<HTMLInputElement>(`r-${k}`).checked)

/** Exponential moving average, so a noisy per-batch loss reads as a trend. */
const smooth = (pts: readonly [number, number][], a = 0.8): [number, number][] => {
  let m = Number.NaN
  return pts.map(([x, y]) => [x, (m = Number.isNaN(m) ? y : a * m + (1 - a) * y)])
}
const total = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0)

const drawFaces = (): void => {
  const f = state.faces
  const canvas = $<HTMLCanvasElement>('faces')
  const { g, w, h } = prepare(canvas)
  if (!f) return
  const kind = $<HTMLSelectElement>('show').value as RunKind
  const ev = state.evals[kind]?.at(-1)
  const n = f.a.labels.length
  const side = Math.min(Math.floor((w - 10) / n) - 6, Math.floor((h - 64) / 2))
  g.fillStyle = '#222'
  g.fillText(
    `test faces, ${kind} at step ${ev?.step ?? 0}: domain A expression (true / predicted), domain B landmarks (green true, red predicted)`,
    4,
    12,
  )
  for (let i = 0; i < n; i++) {
    const x = 4 + i * (side + 6)
    drawFace(g, f.a.images.subarray(i * f.size ** 2), f.size, x, 20, side)
    const truth = expressionNames[f.a.labels[i]]
    const pred = ev ? expressionNames[ev.expr[i]] : '…'
    g.fillStyle = '#222'
    g.fillText(truth, x, side + 32)
    g.fillStyle = ev && ev.expr[i] === f.a.labels[i] ? '#080' : '#b00'
    g.fillText(pred, x, side + 45)
    const y = side + 54
    drawFace(g, f.b.images.subarray(i * f.size ** 2), f.size, x, y, side)
    drawLandmarks(g, f.b.landmarks.subarray(i * 136), x, y, side, '#0c0')
    if (ev) drawLandmarks(g, ev.landmarks.subarray(i * 136), x, y, side, '#f22')
  }
}

const table = (): void => {
  const rows = (state.config?.runs ?? []).map((k) => {
    const ev = state.evals[k] ?? []
    const first = ev[0]
    const last = ev.at(-1)
    const loss = state.losses[k]?.at(-1)
    const tn = last ? total(last.traceNorms) : Number.NaN
    const tndr = first && last ? tn / total(first.traceNorms) : Number.NaN
    const cells = [
      k,
      String(loss?.[0] ?? 0),
      loss ? loss[1].toFixed(3) : '',
      last ? `${(100 * last.acc).toFixed(1)}%` : '',
      last ? `${(100 * last.nme).toFixed(2)}%` : '',
      Number.isFinite(tn) ? tn.toFixed(2) : '',
      Number.isFinite(tndr) ? tndr.toFixed(3) : '',
    ]
    return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`
  })
  const head = ['run', 'step', 'task loss', 'expr acc (A, test)', 'landmark NME (B, test)', 'LAF norm', 'TNDR']
  $('table').innerHTML = `<tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.join('')}`
}

let queued = false
const redraw = (): void => {
  if (queued) return
  queued = true
  requestAnimationFrame(() => {
    queued = false
    const runs = state.config?.runs ?? []
    const ips = state.imagesPerSecond ? `${state.imagesPerSecond.toFixed(1)} images/s` : '…'
    const threads = state.threads > 1 ? ` (${state.threads} threads)` : ''
    $('status').textContent =
      `${state.running ? 'training' : state.done || 'idle'} · backend: ${state.backend || '…'}${threads} · ${ips}\n${state.notes.join(' · ')}`
    lineChart(
      $('loss'),
      'task loss: CE (A) + l1 (B) per batch, smoothed',
      runs.map((k): Series => ({ label: k, color: COLORS[k], points: smooth(state.losses[k] ?? []) })),
    )
    lineChart(
      $('tn'),
      'LAF trace norm Σ over conv layers',
      runs.map((k): Series => ({ label: k, color: COLORS[k], points: (state.evals[k] ?? []).map((e) => [e.step, total(e.traceNorms)]) })),
    )
    const layers = state.evals[runs[0]]?.[0]?.traceNorms.length ?? 0
    barChart(
      $('tndr'),
      'TNDR per conv layer (now / init)',
      Array.from({ length: layers }, (_, i) => `c${i + 1}`),
      runs.map((k) => {
        const ev = state.evals[k] ?? []
        return { label: k, color: COLORS[k], values: ev.length ? ev.at(-1)!.traceNorms.map((v, i) => v / ev[0].traceNorms[i]) : [] }
      }),
    )
    table()
    drawFaces()
  })
}

let worker: Worker | undefined

const onMessage = (m: FromWorker): void => {
  if (m.type === 'backend') {
    state.backend = m.label
    state.notes = m.notes
  } else if (m.type === 'faces') state.faces = m
  else if (m.type === 'step') (state.losses[m.run] ??= []).push([m.step, m.metrics.task])
  else if (m.type === 'speed') {
    state.imagesPerSecond = m.imagesPerSecond
    state.speeds.push(m.imagesPerSecond)
    state.threads = m.threads
  } else if (m.type === 'eval') (state.evals[m.run] ??= []).push(m)
  else if (m.type === 'error') showError('training', m.message)
  if (m.type === 'done' || m.type === 'error') {
    state.running = false
    state.done = m.type === 'done' ? m.reason : 'failed'
    if (m.type === 'done' && state.errors.length === 0) document.title = 'softshare demo: done'
    $('start').textContent = 'Start'
    worker?.terminate() // also ends its kernel Workers
    worker = undefined
  }
  redraw()
}

const start = (): void => {
  const parsed = parseConfig((n) => params.get(n))
  for (const e of parsed.errors) showError('URL parameter', e)
  if (parsed.errors.length) return
  const runs = runsOn()
  if (runs.length === 0) {
    showError('settings', 'choose at least one run')
    return
  }
  const config = { ...parsed.config, runs }
  worker?.terminate()
  Object.assign(state, { running: true, done: '', config, losses: {}, evals: {}, imagesPerSecond: 0, speeds: [], backend: '', notes: [] })
  const show = $<HTMLSelectElement>('show')
  show.innerHTML = runs.map((k) => `<option${k === 'laf' ? ' selected' : ''}>${k}</option>`).join('')
  worker = new Worker(new URL('./demo-worker.js', import.meta.url), { type: 'module' })
  worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data)
  worker.onerror = (e) => onMessage({ type: 'error', message: e.message || 'the training worker failed to load' })
  const msg: ToWorker = { type: 'start', config, backend: ($<HTMLSelectElement>('backend').value as BackendChoice) || 'auto' }
  worker.postMessage(msg)
  document.title = 'softshare demo: training'
  $('start').textContent = 'Stop'
  redraw()
}

const stop = (): void => {
  worker?.postMessage({ type: 'stop' } satisfies ToWorker)
  $('start').textContent = 'stopping…'
}

$('start').addEventListener('click', () => (state.running ? stop() : start()))
$('show').addEventListener('change', redraw)
const runsParam = params.get('runs')?.split(',')
for (const k of RUN_KINDS) if (runsParam) $<HTMLInputElement>(`r-${k}`).checked = runsParam.includes(k)
const b = params.get('backend')
if (b) $<HTMLSelectElement>('backend').value = b
if (b && $<HTMLSelectElement>('backend').value !== b)
  showError('URL parameter', `backend: expected auto, gpu, wasm or js, got ${JSON.stringify(b)}`)
addEventListener('resize', redraw)
redraw()
if (params.get('autostart') === '1') start()
