// Entry point of the action's post step.
import { run } from './action/post.js'

await run()
