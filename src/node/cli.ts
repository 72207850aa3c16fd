#!/usr/bin/env node
/** softshare command line: `softshare doctor` prints which backends work here and why not. */
import { doctor, formatDoctor } from '../backend/select.ts'

const [cmd] = process.argv.slice(2)
if (cmd === 'doctor') {
  console.log(formatDoctor(await doctor()))
} else {
  console.error('usage: softshare doctor')
  process.exitCode = cmd === undefined || cmd === '--help' ? 0 : 2
}
