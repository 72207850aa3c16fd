/** gpu.js kernel sources for convolution, pooling and loss primitives (filled in as those primitives land). */
import type { SourceGen } from './kernels.ts'

export const convSources: Readonly<Record<string, SourceGen>> = {}
