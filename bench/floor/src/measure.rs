//! Timing and memory readings, reported the way `bench/lib/measure.js` reports them.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Calls `op` for `warmup` seconds, then counts its calls (and the rows each returns) for
/// `seconds`: `{ ops, rows, seconds, opsPerSec, rowsPerSec }`.
pub fn throughput(warmup: f64, seconds: f64, mut op: impl FnMut(u64) -> u64) -> Value {
  let mut i = 0;
  let until = Instant::now() + Duration::from_secs_f64(warmup);
  while Instant::now() < until {
    op(i);
    i += 1;
  }
  let (mut ops, mut rows) = (0u64, 0u64);
  let started = Instant::now();
  let until = started + Duration::from_secs_f64(seconds);
  loop {
    rows += op(i);
    i += 1;
    ops += 1;
    if Instant::now() >= until {
      break;
    }
  }
  report(ops, rows, started.elapsed().as_secs_f64())
}

/// The standard throughput record.
pub fn report(ops: u64, rows: u64, seconds: f64) -> Value {
  json!({ "ops": ops, "rows": rows, "seconds": seconds, "opsPerSec": ops as f64 / seconds, "rowsPerSec": rows as f64 / seconds })
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
  values.sort_by(f64::total_cmp);
  let n = values.len();
  if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

/// `(resident, peak resident)` of this process in bytes, from `/proc/self/status`.
pub fn rss() -> (u64, u64) {
  let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
  let field = |name: &str| {
    status
      .lines()
      .find_map(|line| line.strip_prefix(name))
      .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
      .map_or(0, |kb| kb * 1024)
  };
  (field("VmRSS:"), field("VmHWM:"))
}
