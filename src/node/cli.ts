#!/usr/bin/env node
/** softshare command line: `softshare doctor` (which backends work here) and `softshare grid …` (experiment grids over Redis). */
import { doctor, formatDoctor } from '../backend/select.ts'
import { GridError } from './grid/expand.ts'
import { GRID_USAGE, gridMain } from './grid/cli.ts'
import type { GridLibrary } from './grid/library.ts'

// softshare's own experiments as a grid library; an experiment library the grid can run lands in src/experiments
const paperLibrary = async (): Promise<GridLibrary> => {
  throw new GridError('grid: no built-in experiment library in this build; pass --library MODULE (a module exporting gridLibrary)')
}

const [cmd, ...rest] = process.argv.slice(2)
if (cmd === 'doctor') {
  console.log(formatDoctor(await doctor()))
} else if (cmd === 'grid') {
  process.exitCode = await gridMain(rest, paperLibrary)
} else {
  console.error(`usage: softshare doctor\n${GRID_USAGE}`)
  process.exitCode = cmd === undefined || cmd === '--help' ? 0 : 2
}
