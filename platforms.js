'use strict'
// The platforms the addon is built for, and which of them this process runs on. The loader
// (index.js) and `npm run pack:local` (scripts/pack-local.js) both name the addon by it:
// the file `agentdb.<platform>.node` and the package `@cherry/agentdb-<platform>`.

/** Every platform a binary is built and published for, one per `napi.targets` triple of
 *  package.json (and one `npm/<platform>` directory each). */
const BUILT = ['win32-x64-msvc', 'win32-arm64-msvc', 'darwin-x64', 'darwin-arm64', 'linux-x64-gnu', 'linux-arm64-gnu']

/** Whether this Linux process runs on glibc (the C library the Linux binaries link). */
function isGlibc() {
  const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null
  return Boolean(report && report.header && report.header.glibcVersionRuntime)
}

/** This process's platform as the addon's files and packages name it: `linux-x64-gnu`,
 *  `darwin-arm64`, `win32-x64-msvc`… (`linux-x64-musl` on a musl Linux, which is not built). */
function currentPlatform() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isGlibc() ? 'gnu' : 'musl'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

module.exports = { BUILT, currentPlatform }
