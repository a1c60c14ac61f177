//! `agentdb-floor TRIAL PARAMS`: runs one benchmark trial with rusqlite alone and prints its
//! record as one line of JSON. The floor is what this machine can do with the same SQL and
//! the same connection settings when no JavaScript is involved.

mod measure;
mod params;
mod schema;
mod seed;
mod trials;
mod views;
mod workload;

use params::Params;

fn main() {
  let args: Vec<String> = std::env::args().collect();
  let (Some(trial), Some(params)) = (args.get(1), args.get(2)) else {
    eprintln!("usage: agentdb-floor TRIAL PARAMS_JSON");
    std::process::exit(2);
  };
  let p = Params::parse(params);
  let record = match trial.as_str() {
    "version" => serde_json::json!({ "sqlite": rusqlite::version() }),
    "seed" => trials::seed(&p),
    "open-migrate" => trials::open_migrate(&p),
    "append" => trials::append(&p),
    "append-concurrent" => trials::append_concurrent(&p),
    "append-batch" => trials::append_batch(&p),
    "latest" => trials::latest(&p),
    "point-read" => trials::point_read(&p),
    "page" => trials::page(&p),
    "rss-paging" => trials::rss_paging(&p),
    "rss-calls" => trials::rss_calls(&p),
    other => {
      eprintln!("unknown trial {other}");
      std::process::exit(2);
    }
  };
  println!("{record}");
}
