#!/usr/bin/env node
'use strict'
// `npm run pack:local [-- --debug | --no-build] [--out <dir>]`: builds, from a checkout, the
// two tarballs an app installs without a registry: the package (loader, typings, command
// line) and the platform package of this machine (the .node file), which the first names as
// its optional dependency at the same version. It builds the release addon unless told
// `--debug` (a debug build) or `--no-build` (the addon last built in the checkout), and
// writes the tarballs to `dist/` unless told `--out <dir>`. It prints their paths, and the
// command that installs them on stderr.

const { execFileSync } = require('node:child_process')
const { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs')
const path = require('node:path')
const { BUILT, currentPlatform } = require('../platforms.js')

const ROOT = path.resolve(__dirname, '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const shell = process.platform === 'win32'

/** The options given on the command line. */
function options(argv) {
  const chosen = { build: 'release', out: path.join(ROOT, 'dist') }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--debug') chosen.build = 'debug'
    else if (argv[i] === '--no-build') chosen.build = null
    else if (argv[i] === '--out' && argv[i + 1]) chosen.out = path.resolve(argv[++i])
    else throw new Error(`unknown argument ${argv[i]} (known: --debug, --no-build, --out <dir>)`)
  }
  return chosen
}

/** Packs the package staged in `dir` into `out` and returns the tarball's path. */
function pack(dir, out) {
  const [{ filename }] = JSON.parse(
    execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: dir, encoding: 'utf8', shell }),
  )
  return path.join(out, filename)
}

function main() {
  const { build, out } = options(process.argv.slice(2))
  const platform = currentPlatform()
  if (!BUILT.includes(platform)) throw new Error(`this package is not built for ${platform} (only for ${BUILT.join(', ')})`)
  const binary = `agentdb.${platform}.node`
  if (build) {
    const args = ['napi', 'build', '--platform', '--no-js', ...(build === 'release' ? ['--release'] : [])]
    execFileSync(process.platform === 'win32' ? 'npx.cmd' : 'npx', args, { cwd: ROOT, stdio: 'inherit', shell })
  }
  if (!existsSync(path.join(ROOT, binary))) throw new Error(`no ${binary} in ${ROOT}: run without --no-build to build it`)

  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  const stage = path.join(ROOT, 'target', 'pack-local')
  rmSync(stage, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })

  // The platform package: its manifest from npm/<platform>, and the binary.
  const platformStage = path.join(stage, platform)
  cpSync(path.join(ROOT, 'npm', platform), platformStage, { recursive: true })
  cpSync(path.join(ROOT, binary), path.join(platformStage, binary))
  const platformTarball = pack(platformStage, out)

  // The package: what it ships, with the platform package as its optional dependency.
  const mainStage = path.join(stage, 'main')
  for (const item of ['README.md', ...manifest.files]) cpSync(path.join(ROOT, item), path.join(mainStage, item), { recursive: true })
  const { devDependencies: _dev, scripts: _scripts, overrides: _overrides, ...shipped } = manifest
  shipped.optionalDependencies = { [`${manifest.name}-${platform}`]: manifest.version }
  writeFileSync(path.join(mainStage, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`)
  const mainTarball = pack(mainStage, out)

  const shown = (file) => path.relative(process.cwd(), file) || file
  process.stdout.write(`${shown(mainTarball)}\n${shown(platformTarball)}\n`)
  process.stderr.write(`In the app: npm install ${mainTarball} ${platformTarball}\n`)
}

try {
  main()
} catch (err) {
  process.stderr.write(`pack:local: ${err.message}\n`)
  process.exit(1)
}
