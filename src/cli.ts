#!/usr/bin/env node
// Entry point of the `warmstart` command line.
import { main } from './cli/main.js'

process.exitCode = await main(process.argv.slice(2))
