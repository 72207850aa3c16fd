/**
 * `softshare/node`: what touches the file system: image decoding (pngjs, jpeg-js), the 300-W, labelled-folder
 * and MNIST loaders, safetensors checkpoints, run directories (resume, best, TensorBoard), JSONL logs and
 * terminal progress. Never reachable from the browser entry (`softshare`).
 */
export * from '../data/index.ts'
export * from './checkpoint.ts'
export * from './image.ts'
export * from './loaders.ts'
export * from './log.ts'
export * from './experiments.ts'
export * from './run-dir.ts'
export * from './safetensors.ts'
export * from './tfevents.ts'
