import { primTests } from '../harness.ts'
import { reduceShapeCases } from './cases/reduce-shape.ts'

primTests(reduceShapeCases)
