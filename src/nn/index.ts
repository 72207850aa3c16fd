/** Layers as pure `{ init(key, config), apply(params, x, state?) }` pairs, initialisers and task losses. */
export * from './batchnorm.ts'
export * from './conv.ts'
export * from './dense.ts'
export * from './init.ts'
export * from './losses.ts'
export * from './resnet.ts'
