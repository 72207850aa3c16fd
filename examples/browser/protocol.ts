/** Messages between the demo page and its training worker (structured-clone data only). */
import type { DemoConfig, RunKind } from './config.ts'

/** Which backend the page asks for: the fastest available, or one named. */
export type BackendChoice = 'auto' | 'gpu' | 'wasm' | 'js'

export type ToWorker = { readonly type: 'start'; readonly config: DemoConfig; readonly backend: BackendChoice } | { readonly type: 'stop' }

export type FromWorker =
  | { readonly type: 'backend'; readonly label: string; readonly notes: readonly string[] }
  /** The test faces shown in the grid (first `images.length / size²` of each domain), pixels standardised. */
  | {
      readonly type: 'faces'
      readonly size: number
      readonly a: { readonly images: Float32Array; readonly labels: readonly number[] }
      readonly b: { readonly images: Float32Array; readonly landmarks: Float32Array }
    }
  | { readonly type: 'step'; readonly run: RunKind; readonly step: number; readonly metrics: Readonly<Record<string, number>> }
  /** Images per second over the last round (both tasks' batches of every run, evaluation excluded). */
  | { readonly type: 'speed'; readonly imagesPerSecond: number; readonly threads: number }
  | {
      readonly type: 'eval'
      readonly run: RunKind
      readonly step: number
      readonly traceNorms: readonly number[]
      readonly acc: number
      readonly nme: number
      readonly expr: readonly number[]
      readonly landmarks: Float32Array
    }
  | { readonly type: 'done'; readonly reason: string }
  | { readonly type: 'error'; readonly message: string }
