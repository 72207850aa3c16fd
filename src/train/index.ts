/** Training: the step as a pure async function, the loop as a fold (checkpoint files: `softshare/node`). */
export * from './loop.ts'
export * from './step.ts'
export * from './flags.ts'
export * from './finetune.ts'
