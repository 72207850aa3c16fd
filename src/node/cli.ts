#!/usr/bin/env node
/** softshare command line: `softshare doctor` (which backends work here) and `softshare grid …` (experiment grids over Redis). */
import { doctor, formatDoctor } from '../backend/select.ts'
import { GRID_USAGE, gridMain } from './grid/cli.ts'
import type { GridLibrary } from './grid/library.ts'

// loaded on demand: `softshare doctor` should not pay for the experiment library
const paperLibrary = async (): Promise<GridLibrary> => (await import('./grid/paper.ts')).paperGridLibrary

const [cmd, ...rest] = process.argv.slice(2)
if (cmd === 'doctor') {
  console.log(formatDoctor(await doctor()))
} else if (cmd === 'grid') {
  process.exitCode = await gridMain(rest, paperLibrary)
} else {
  console.error(`usage: softshare doctor\n${GRID_USAGE}`)
  process.exitCode = cmd === undefined || cmd === '--help' ? 0 : 2
}
