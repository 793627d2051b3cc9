// What GNU tar says it unpacked, read back as archive entries: `tar -x -vv --numeric-owner
// --quoting-style=c` prints one line per member before it writes it, like `ls -l`, its name in
// C quotes. The checks of src/archive/inspect.ts then run on those entries, so a checkpoint
// part's plain tar never passes through Node (src/engine/image-dir.ts), and is still checked
// entry by entry from the very stream tar unpacks. Pure; fails closed: a line
// this does not recognise is a problem, and the restore is refused.
import type { ArchiveEntry } from './inspect.js'

export interface TarListing {
  entries: ArchiveEntry[]
  /** Lines that are neither a member nor a directory tar made on its own. */
  problems: string[]
}

/** tar's `ls -l` type letter, as the tar header's type flag that src/archive/inspect.ts checks. */
const TYPE_FLAGS: Record<string, string> = {
  '-': '0',
  d: '5',
  l: '2',
  h: '1',
  c: '3',
  b: '4',
  p: '6'
}

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`

// mode, uid/gid, size (or major,minor), the date (not parsed: tar prints odd times as numbers),
// the name, and a link's target.
const MEMBER = new RegExp(
  String.raw`^(.)\S{9} +\d+/\d+ +(\d+|\d+,\d+) [^"]*?${QUOTED}(?: (->|link to) ${QUOTED})?$`
)

// A parent directory the archive did not list, which tar made before a member inside it.
const MADE_DIRECTORY = new RegExp(String.raw`^d\S{9} +Creating directory: ${QUOTED}$`)

export function parseTarListing(text: string): TarListing {
  const entries: ArchiveEntry[] = []
  const problems: string[] = []
  for (const line of text.split('\n')) {
    if (!line || MADE_DIRECTORY.test(line)) continue
    const match = MEMBER.exec(line)
    if (!match) {
      problems.push(`tar listed a member this cannot read: ${JSON.stringify(line.slice(0, 200))}`)
      continue
    }
    const [, letter, size, name, , target] = match as unknown as [
      string,
      string,
      string,
      string,
      string | undefined,
      string | undefined
    ]
    entries.push({
      path: unquote(name),
      type: TYPE_FLAGS[letter] ?? letter,
      size: size.includes(',') ? 0 : Number(size),
      linkTarget: target === undefined ? '' : unquote(target)
    })
  }
  return { entries, problems }
}

const ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  t: 9,
  n: 10,
  v: 11,
  f: 12,
  r: 13,
  '"': 34,
  '\\': 92,
  '?': 63
}

/** Undoes --quoting-style=c: backslash escapes and octal bytes, then UTF-8 as tar headers hold. */
function unquote(quoted: string): string {
  const bytes: number[] = []
  for (let i = 0; i < quoted.length; i++) {
    const char = quoted[i] as string
    if (char !== '\\') {
      bytes.push(...Buffer.from(char, 'utf8'))
      continue
    }
    const octal = /^[0-7]{3}/.exec(quoted.slice(i + 1))
    if (octal) {
      bytes.push(parseInt(octal[0], 8))
      i += 3
      continue
    }
    const next = quoted[i + 1] ?? ''
    bytes.push(ESCAPES[next] ?? next.charCodeAt(0))
    i += 1
  }
  return Buffer.from(bytes).toString('utf8')
}
