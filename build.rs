//! Build script of the addon: sets up linking against Node-API (the symbols come from the
//! Node or Electron process that loads the addon).

fn main() {
  napi_build::setup();
}
