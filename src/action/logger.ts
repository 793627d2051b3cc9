// The engine's Logger, for the action: @actions/core's log lines, groups and annotations.
import * as core from '@actions/core'
import type { Logger } from '../logger.js'

export const actionsLogger: Logger = {
  debug: (message) => core.debug(message),
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  group: (title, work) => core.group(title, work)
}
