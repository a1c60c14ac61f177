'use strict'
// Node binaries of other versions than the one running the bench, for the drivers that need
// a newer Node (lib/config.js NODE_VERSIONS). They come from the npm registry: the package
// `node-<platform>-<arch>` of a version holds its binary and its headers (include/node, which
// a native peer is built against). They are unpacked into the root's
// node_modules/.cache/agentdb-node/<version>/, the cache __test__/node-binaries.ts uses.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const CACHE = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'agentdb-node')
const PACKAGE = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`

/** The unpacked package of Node `version` (its `bin/node`, its `include/node`), fetched with
 *  `npm pack` the first time. Throws when the registry cannot provide it. */
function nodePackage(version) {
  const dir = path.join(CACHE, version)
  const unpacked = path.join(dir, 'package')
  if (fs.existsSync(nodeBinary(unpacked))) return unpacked
  fs.mkdirSync(dir, { recursive: true })
  execFileSync('npm', ['pack', `${PACKAGE}@${version}`, '--pack-destination', dir, '--silent'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    shell: process.platform === 'win32',
    timeout: 300_000,
  })
  const tarball = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'))
  if (!tarball) throw new Error(`npm pack ${PACKAGE}@${version} wrote no tarball`)
  execFileSync('tar', ['-xzf', tarball], { cwd: dir, stdio: 'ignore' })
  if (!fs.existsSync(nodeBinary(unpacked))) throw new Error(`${PACKAGE}@${version} holds no bin/node`)
  return unpacked
}

/** The Node executable inside an unpacked package. */
const nodeBinary = (unpacked) => path.join(unpacked, 'bin', process.platform === 'win32' ? 'node.exe' : 'node')

module.exports = { nodePackage, nodeBinary }
