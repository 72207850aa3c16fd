import { primTests } from '../harness.ts'
import { linalgCases } from './cases/linalg.ts'

primTests(linalgCases)
