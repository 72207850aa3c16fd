/** Node-only data loading: PNG/JPEG decoding (pngjs, jpeg-js), 300-W and LSEMSW-style loaders from disk. */
export * from './image.ts'
export * from './index.ts'
export * from './node-loaders.ts'
