// Reads action.yml the way the tests need it: input defaults, and the names of a section's keys.
import { readFileSync } from 'node:fs'

const text = readFileSync(new URL('../action.yml', import.meta.url), 'utf8')

/** The raw text of action.yml. */
export const actionYml = text

/** The lines of top-level section `name` (inputs, outputs, runs). */
export function section(name: string, next: string): string {
  return text.slice(text.indexOf(`\n${name}:`), text.indexOf(`\n${next}:`))
}

/** The keys declared directly under a section. */
export function declared(sectionText: string): string[] {
  return [...sectionText.matchAll(/^ {2}([a-z-]+):\s*$/gm)].map((match) => match[1] as string)
}

/** Every input's default, as the runner passes it when a workflow leaves the input out. */
export function inputDefaults(): Record<string, string> {
  const defaults: Record<string, string> = {}
  let current = ''
  for (const line of section('inputs', 'outputs').split('\n')) {
    const input = /^ {2}([a-z-]+):\s*$/.exec(line)
    if (input) current = input[1] as string
    const value = /^ {4}default:\s*'?([^']*)'?\s*$/.exec(line)
    if (value && current) defaults[current] = value[1] as string
  }
  return defaults
}
