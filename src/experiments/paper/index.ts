/** The paper's experiments by name: each maps a context (preset, seeds, backend, sinks) to a report value. */
import type { ExperimentName, PaperContext, Report } from './common.ts'
import { fig3, fig3Layers, fig3Plan } from './fig3.ts'
import { table5 } from './table5.ts'
import { table6, table6Plan } from './table6.ts'
import { table7 } from './table7.ts'
import { table4, table4Plan } from './table4.ts'

export * from './common.ts'
export * from './lbp.ts'
export * from './plan.ts'
export * from './stats.ts'
export * from './svg.ts'
export { fig3, fig3Layers, fig3Plan, table4, table4Plan, table5, table6, table6Plan, table7 }

export const paperExperiments: Readonly<Record<ExperimentName, (ctx: PaperContext) => Promise<Report>>> = {
  table4,
  table5,
  table6,
  table7,
  fig3,
}
