import { primTests } from '../harness.ts'
import { elementwiseCases } from './cases/elementwise.ts'

primTests(elementwiseCases)
