// Node binaries of other versions than the one running the tests, for the specs that run the
// addon in the Node versions Electron ships. They come from the npm registry: the package
// `node-<platform>-<arch>` of a version holds its binary (it is what the `node` package
// installs). The first call downloads it with `npm pack` into node_modules/.cache and unpacks
// it; later calls use the copy there.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import path from 'node:path'

const CACHE = path.resolve(__dirname, '..', 'node_modules', '.cache', 'agentdb-node')

/** The registry package holding this platform's Node binary. */
const PACKAGE = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`

/** The path of Node `version`'s binary for this platform, or why there is none
 *  (`unpublished` when the registry has no such package for this platform). */
export function nodeBinary(version: string): { path: string } | { missing: string; unpublished: boolean } {
  const dir = path.join(CACHE, version)
  const binary = path.join(dir, 'package', 'bin', process.platform === 'win32' ? 'node.exe' : 'node')
  if (existsSync(binary)) return { path: binary }
  mkdirSync(dir, { recursive: true })
  try {
    execFileSync('npm', ['pack', `${PACKAGE}@${version}`, '--pack-destination', dir, '--silent'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: process.platform === 'win32',
      timeout: 300_000,
    })
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
    if (!tarball) return { missing: `npm pack ${PACKAGE}@${version} wrote no tarball`, unpublished: false }
    execFileSync('tar', ['-xzf', tarball], { cwd: dir, stdio: 'ignore' })
  } catch (err) {
    const output = `${(err as { stderr?: Buffer }).stderr ?? ''} ${(err as Error).message}`
    const unpublished = /E404|No matching version|ETARGET/.test(output)
    return { missing: `${PACKAGE}@${version} could not be fetched from the registry: ${output.trim().split('\n')[0]}`, unpublished }
  }
  return existsSync(binary) ? { path: binary } : { missing: `${PACKAGE}@${version} holds no bin/node`, unpublished: false }
}
