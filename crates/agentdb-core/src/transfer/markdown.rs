//! The Markdown transcript of a session: a title, the agent and the session's facts, then
//! every log in tree order. A log of type `message` is a turn at its parent's level; a
//! thought, action or observation is nested one level (one more `>`) under the log it belongs
//! to. The walk keeps one cursor per open level and drops a level before descending into
//! its last child, so a long chain of replies costs no memory per reply.
//!
//! A text content (a string, or an object's `text` string) is written as Markdown, with `&`,
//! `<` and `>` written as entities so that HTML in a message is shown rather than rendered;
//! any other content is a fenced `json` block whose fence is longer than any run of
//! backticks inside it.

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::agents::Agent;
use crate::error::Result;
use crate::logs::{log_from_row, SessionLog, LOG_COLUMNS};
use crate::model::{LogStatus, LogType};
use crate::sessions::Session;

/// One open level of the walk: the next child after `after` of `parent` (the roots when
/// `None`), written at `depth`.
struct Level {
  parent: Option<i64>,
  after: i64,
  depth: usize,
}

/// Writes the transcript through `out`; returns how many logs it holds.
pub(super) fn write(
  conn: &Connection,
  session: &Session,
  agent: &Agent,
  out: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
  let title = session.name.clone().unwrap_or_else(|| format!("Session {}", session.id));
  let mut head = format!("# {}\n\n", escape(&title));
  head.push_str(&format!("- Agent: {} ({})\n", escape(&agent.name), escape(&agent.id)));
  head.push_str(&format!(
    "- Session: {}\n- Status: {}\n- Created: {}\n",
    escape(&session.id),
    session.status.as_str(),
    session.created_at
  ));
  if let Some(goal) = &session.user_goal {
    head.push_str(&format!("- Goal: {}\n", escape(goal)));
  }
  out(head.as_bytes())?;
  let roots =
    format!("SELECT {LOG_COLUMNS} FROM session_logs WHERE session_id = ?1 AND parent_id IS NULL AND id > ?2 ORDER BY id LIMIT 2");
  let children = format!("SELECT {LOG_COLUMNS} FROM session_logs WHERE parent_id = ?1 AND id > ?2 ORDER BY id LIMIT 2");
  let mut levels = vec![Level { parent: None, after: 0, depth: 0 }];
  let mut count = 0_u64;
  while let Some(level) = levels.last_mut() {
    let next: Vec<SessionLog> = match level.parent {
      None => conn
        .prepare_cached(&roots)?
        .query_map(params![session.id, level.after], log_from_row)?
        .collect::<rusqlite::Result<_>>()?,
      Some(parent) => {
        conn.prepare_cached(&children)?.query_map(params![parent, level.after], log_from_row)?.collect::<rusqlite::Result<_>>()?
      }
    };
    let more = next.len() > 1;
    let Some(log) = next.into_iter().next() else {
      levels.pop();
      continue;
    };
    level.after = log.id;
    let depth = if log.log_type == LogType::Message { level.depth } else { level.depth + 1 };
    if level.parent.is_some() && !more {
      levels.pop();
    }
    out(entry(&log, depth).as_bytes())?;
    count += 1;
    levels.push(Level { parent: Some(log.id), after: 0, depth });
  }
  Ok(count)
}

/// One log's block: a heading line and its content, each line quoted `depth` times.
fn entry(log: &SessionLog, depth: usize) -> String {
  let status = if log.status == LogStatus::Complete { String::new() } else { format!(" ({})", log.status.as_str()) };
  let mut text = format!("**{}** · {} · {}{}\n\n", log.role.as_str(), log.log_type.as_str(), log.created_at, status);
  text.push_str(&content(log.content.get()));
  let quote = "> ".repeat(depth);
  let mut block = String::from("\n");
  for line in text.lines() {
    block.push_str(if line.is_empty() { quote.trim_end() } else { &quote });
    block.push_str(line);
    block.push('\n');
  }
  block
}

/// A log's content as Markdown: its text, or a fenced JSON block.
fn content(json: &str) -> String {
  let value: Value = serde_json::from_str(json).unwrap_or(Value::Null);
  let text = match &value {
    Value::String(text) => Some(text.as_str()),
    Value::Object(fields) => fields.get("text").and_then(Value::as_str).filter(|_| fields.len() == 1),
    _ => None,
  };
  if let Some(text) = text {
    return format!("{}\n", escape(text));
  }
  let pretty = serde_json::to_string_pretty(&value).unwrap_or_else(|_| json.to_string());
  let longest = pretty.split(|c| c != '`').map(str::len).max().unwrap_or(0);
  let fence = "`".repeat(longest.max(2) + 1);
  format!("{fence}json\n{pretty}\n{fence}\n")
}

/// Text with the characters that would become HTML written as entities.
fn escape(text: &str) -> String {
  text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn text_is_escaped_and_other_content_is_fenced_longer_than_its_backticks() {
    assert_eq!(content(r#""a <b> & c""#), "a &lt;b&gt; &amp; c\n");
    assert_eq!(content(r#"{"text":"hi"}"#), "hi\n");
    let fenced = content(r#"{"text":"hi","tool":"````"}"#);
    assert!(fenced.starts_with("`````json\n") && fenced.ends_with("\n`````\n"), "{fenced}");
    assert!(content("[1]").starts_with("```json\n"));
  }
}
