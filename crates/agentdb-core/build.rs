//! Build script: embeds every file of the repository's `migrations/` folder into the crate.
//!
//! Each migration is a pair `NNN_name.up.sql` / `NNN_name.down.sql`. The up file starts with
//! header comments: `-- description: <text>` (required), optionally `-- foreign_keys: off`
//! for a migration that rebuilds tables, and `-- rebuilds: <table>, …` naming the tables it
//! rebuilds (the migrator then keeps what an app added to them, or refuses and names it). The build fails, naming the
//! file, on a duplicate id, a gap in the sequence, an up file without its down file or the
//! reverse, a file name of another shape, or an up file without a description.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One migration found on disk, before it is written into the generated table.
#[derive(Default)]
struct Found {
  name: String,
  up: Option<PathBuf>,
  down: Option<PathBuf>,
}

fn main() {
  let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../migrations");
  let dir = dir.canonicalize().unwrap_or(dir);
  println!("cargo:rerun-if-changed={}", dir.display());
  let table = match collect(&dir).and_then(|found| render(&found)) {
    Ok(table) => table,
    Err(message) => {
      // A panic is how a build script fails the build with a message.
      panic!("\n\nmigrations/: {message}\n\n");
    }
  };
  let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_migrations.rs");
  std::fs::write(out, table).expect("write generated migration table");
}

/// Reads `dir` and pairs up/down files by numeric id.
fn collect(dir: &Path) -> Result<BTreeMap<u64, (String, Found)>, String> {
  let mut found: BTreeMap<u64, (String, Found)> = BTreeMap::new();
  let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
  for entry in entries {
    let path = entry.map_err(|e| e.to_string())?.path();
    println!("cargo:rerun-if-changed={}", path.display());
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    if file.starts_with('.') || file.eq_ignore_ascii_case("README.md") {
      continue;
    }
    let (stem, is_up) = if let Some(stem) = file.strip_suffix(".up.sql") {
      (stem, true)
    } else if let Some(stem) = file.strip_suffix(".down.sql") {
      (stem, false)
    } else {
      return Err(format!("{file}: expected NNN_name.up.sql or NNN_name.down.sql"));
    };
    let (id_text, name) = stem
      .split_once('_')
      .filter(|(id, name)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty())
      .ok_or_else(|| format!("{file}: the name must be <digits>_<name>.(up|down).sql"))?;
    let id: u64 = id_text.parse().map_err(|_| format!("{file}: id {id_text} is too large"))?;
    let (known_text, entry) =
      found.entry(id).or_insert_with(|| (id_text.to_string(), Found { name: name.to_string(), ..Found::default() }));
    if known_text != id_text || entry.name != name {
      return Err(format!("{file}: id {id} is already used by {known_text}_{}", entry.name));
    }
    let slot = if is_up { &mut entry.up } else { &mut entry.down };
    if slot.is_some() {
      return Err(format!("{file}: duplicate file"));
    }
    *slot = Some(path);
  }
  if found.is_empty() {
    return Err("no migrations found".into());
  }
  Ok(found)
}

/// Checks the sequence and renders the Rust table that `include!` pulls into the crate.
fn render(found: &BTreeMap<u64, (String, Found)>) -> Result<String, String> {
  let mut out = String::from("&[\n");
  if *found.keys().next().unwrap() != 1 {
    return Err(format!("the first migration must have id 1, found {}", found.values().next().unwrap().0));
  }
  for (expected, (id, (id_text, entry))) in (1..).zip(found) {
    let file = format!("{id_text}_{}", entry.name);
    if *id != expected {
      return Err(format!("{file}: gap in the sequence, id {expected} is missing"));
    }
    let up = entry.up.as_ref().ok_or_else(|| format!("{file}.down.sql has no {file}.up.sql"))?;
    let down = entry.down.as_ref().ok_or_else(|| format!("{file}.up.sql has no {file}.down.sql"))?;
    let text = std::fs::read_to_string(up).map_err(|e| format!("{file}.up.sql: {e}"))?;
    let headers = headers(&text);
    let description = headers
      .iter()
      .find(|(k, _)| k == "description")
      .map(|(_, v)| v.clone())
      .filter(|v| !v.is_empty())
      .ok_or_else(|| format!("{file}.up.sql has no `-- description: ...` header"))?;
    let foreign_keys_off = match headers.iter().find(|(k, _)| k == "foreign_keys") {
      None => false,
      Some((_, v)) if v == "off" => true,
      Some((_, v)) => return Err(format!("{file}.up.sql: `-- foreign_keys:` takes `off`, not `{v}`")),
    };
    let rebuilds: Vec<String> = headers
      .iter()
      .find(|(k, _)| k == "rebuilds")
      .map(|(_, v)| v.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect())
      .unwrap_or_default();
    if !rebuilds.is_empty() && !foreign_keys_off {
      return Err(format!("{file}.up.sql: `-- rebuilds:` tables are rebuilt with foreign keys off; add `-- foreign_keys: off`"));
    }
    writeln!(
      out,
      "  BuiltinMigration {{ id: {id_text:?}, name: {name:?}, description: {description:?}, foreign_keys_off: {foreign_keys_off}, rebuilds: &{rebuilds:?}, up: include_str!({up:?}), down: include_str!({down:?}) }},",
      name = entry.name,
      up = up.display().to_string(),
      down = down.display().to_string(),
    )
    .unwrap();
  }
  out.push(']');
  Ok(out)
}

/// The `-- key: value` comment lines at the top of an up file (the header ends at the first
/// line that is not such a comment).
fn headers(text: &str) -> Vec<(String, String)> {
  text
    .trim_start_matches('\u{feff}')
    .lines()
    .map_while(|line| line.trim().strip_prefix("--"))
    .filter_map(|rest| rest.split_once(':'))
    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
    .collect()
}
