// Entry point of the action's main step.
import { run } from './action/main.js'

await run()
