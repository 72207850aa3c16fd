/**
 * softshare data: synthetic two-domain faces, the 68-point layout and NME, batching, augmentation, and
 * parsers for the real formats. Browser-safe; image decoding and file loading are in `./node.ts`.
 */
export * from './augment.ts'
export * from './batch.ts'
export type { Expression, ExpressionName } from './face-model.ts'
export { expressionShifts } from './face-model.ts'
export * from './landmarks.ts'
export * from './loaders.ts'
export * from './synthetic-faces.ts'
