//! Logging for both binaries: the filter from `KARYA_LOG`, plain text on stderr (with colour
//! codes only when stderr is a terminal, so log files and the journal stay clean), or JSON
//! lines with `KARYA_LOG_FORMAT=json` for a log pipeline.

use std::io::IsTerminal;

/// Installs the global subscriber; `default_filter` applies when `KARYA_LOG` is not set.
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KARYA_LOG")
        .unwrap_or_else(|_| default_filter.into());
    let json = std::env::var("KARYA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().with_current_span(true).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}
