import { primTests } from '../harness.ts'
import { linalgCases, psdPowCases } from './cases/linalg.ts'

primTests(linalgCases)
primTests(psdPowCases)
