/** Every primitive case, for the coverage test. Add your case list here. */
import type { PrimCase } from '../../harness.ts'
import { convCases } from './conv.ts'
import { elementwiseCases } from './elementwise.ts'
import { linalgCases } from './linalg.ts'
import { lossCases } from './loss.ts'
import { poolCases } from './pool.ts'
import { reduceShapeCases } from './reduce-shape.ts'

export const allCases: readonly PrimCase[] = [
  ...elementwiseCases,
  ...reduceShapeCases,
  ...convCases,
  ...poolCases,
  ...lossCases,
  ...linalgCases,
]
