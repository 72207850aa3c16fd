/** softshare experiments: the paper's two-task training and evaluation as pure functions over validated configs. */
export * from './config.ts'
export * from './data.ts'
export * from './embed.ts'
export * from './evaluate.ts'
export * from './run.ts'
