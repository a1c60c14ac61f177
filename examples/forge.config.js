// The part of an Electron Forge configuration this package needs: every .node file stays
// outside app.asar, where the operating system can load it.
module.exports = {
  packagerConfig: {
    asar: { unpack: '**/*.node' },
  },
}
