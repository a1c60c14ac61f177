#!/usr/bin/env node
'use strict'
// Electron's typings for type-checking examples/ (`npm run test:types`), without Electron as
// a dependency: the `electron` package's tarball is fetched from the npm registry with
// `npm pack` (no install, so none of its dependencies and no engine check) into
// node_modules/.cache/agentdb-electron/, once; examples/tsconfig.json reads its
// `electron.d.ts` from there. Prints the file's path.

const { execFileSync } = require('node:child_process')
const { existsSync, mkdirSync, readdirSync, rmSync } = require('node:fs')
const path = require('node:path')

/** The Electron release whose typings the examples are checked against. */
const ELECTRON = '45.5.0'

const dir = path.resolve(__dirname, '..', 'node_modules', '.cache', 'agentdb-electron')
const typings = path.join(dir, 'package', 'electron.d.ts')
const version = path.join(dir, `electron-${ELECTRON}.tgz`)

if (!existsSync(typings) || !existsSync(version)) {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const shell = process.platform === 'win32'
  execFileSync(shell ? 'npm.cmd' : 'npm', ['pack', `electron@${ELECTRON}`, '--pack-destination', dir, '--silent'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    shell,
  })
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
  if (!tarball) throw new Error(`npm pack electron@${ELECTRON} wrote no tarball`)
  execFileSync('tar', ['-xzf', tarball, 'package/electron.d.ts'], { cwd: dir, stdio: 'inherit' })
}
process.stdout.write(`${typings}\n`)
