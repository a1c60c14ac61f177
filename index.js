'use strict'
// The loader: loads the addon built for this platform and exports it. It takes, in order,
// `agentdb.<platform>.node` beside this file (what `npm run build` writes in a checkout), then
// the platform package `@cherry/agentdb-<platform>` (an optional dependency of this package,
// of which npm installs the one for the machine). When neither is there, the error names the
// package to install and how to build it from a checkout.

const path = require('node:path')
const { BUILT, currentPlatform } = require('./platforms.js')
const { name, version } = require('./package.json')

const platform = currentPlatform()
const file = path.join(__dirname, `agentdb.${platform}.node`)
const platformPackage = `${name}-${platform}`
const howToBuild =
  `or build both packages from a checkout of ${name} on this machine with \`npm run pack:local\` ` +
  'and install the two tarballs it writes (README, "Install")'

/** An error whose message is `message` and whose `cause` is `cause`. */
function failure(message, cause) {
  const error = new Error(message)
  if (cause) error.cause = cause
  return error
}

/** Whether `request` resolves from here. */
function resolves(request) {
  try {
    require.resolve(request)
    return true
  } catch {
    return false
  }
}

/** The addon's exports, or an error saying which binary is missing or would not load. */
function load() {
  if (resolves(file)) {
    try {
      return require(file)
    } catch (err) {
      throw failure(`Cannot load native binding ${file}: ${err.message}`, err)
    }
  }
  if (!BUILT.includes(platform)) {
    throw failure(`Cannot find native binding: ${name} is not built for ${platform} (it is built for ${BUILT.join(', ')}).`)
  }
  if (!resolves(`${platformPackage}/package.json`)) {
    throw failure(
      `Cannot find native binding: the package ${platformPackage} is not installed. ` +
        `It holds the addon built for ${platform}, and npm installs it as an optional dependency of ${name}. ` +
        `Install it (npm install ${platformPackage}@${version}), ${howToBuild}. ` +
        `An install that omits optional dependencies (--omit=optional, --no-optional) leaves it out.`,
    )
  }
  const installed = require(`${platformPackage}/package.json`).version
  if (installed !== version) {
    throw failure(
      `Cannot load native binding: ${platformPackage} is version ${installed}, but ${name} is ${version}. ` +
        `Install the same version of both (npm install ${platformPackage}@${version}).`,
    )
  }
  try {
    return require(platformPackage)
  } catch (err) {
    throw failure(`Cannot load native binding ${platformPackage}: ${err.message}`, err)
  }
}

const binding = load()
module.exports = binding
// Named so that ESM's `import { Database } from '@cherry/agentdb'` finds it.
module.exports.Database = binding.Database
