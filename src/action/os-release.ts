// /etc/os-release (os-release(5)): the fields warmstart's runner preparation reads.

export interface OsRelease {
  ID: string
  ID_LIKE: string[]
  PRETTY_NAME: string
  VERSION_ID: string
  VERSION_CODENAME: string
  UBUNTU_CODENAME: string
}

/** The fields of /etc/os-release that the plans read; a missing one is empty. */
export function parseOsRelease(text: string): OsRelease {
  const fields: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim())
    if (!match) continue
    // Values are shell words: optionally quoted, with backslash escapes inside double quotes.
    let value = (match[2] as string).trim()
    const quote = value[0]
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1)
      if (quote === '"') value = value.replace(/\\(.)/g, '$1')
    }
    fields[match[1] as string] = value
  }
  return {
    ID: (fields.ID ?? '').toLowerCase(),
    ID_LIKE: (fields.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    PRETTY_NAME: fields.PRETTY_NAME ?? '',
    VERSION_ID: fields.VERSION_ID ?? '',
    VERSION_CODENAME: fields.VERSION_CODENAME ?? '',
    UBUNTU_CODENAME: fields.UBUNTU_CODENAME ?? ''
  }
}
