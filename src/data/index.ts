/** softshare data: synthetic two-domain faces, the 68-point layout and NME, batching, augmentation, loaders. */
export * from './augment.ts'
export * from './batch.ts'
export type { Expression, ExpressionName } from './face-model.ts'
export { expressionShifts } from './face-model.ts'
export * from './landmarks.ts'
export * from './synthetic-faces.ts'
