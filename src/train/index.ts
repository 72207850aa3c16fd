/** Training: the step as a pure async function, the loop as a fold, checkpoints. */
export * from './checkpoint.ts'
export * from './loop.ts'
export * from './step.ts'
export * from './flags.ts'
