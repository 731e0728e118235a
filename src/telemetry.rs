use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Logs to stdout with the given filter (e.g. `info`, `roster=debug`). Call once. (Errors
/// before logging starts go to stderr.) Colours only on a terminal: a log written to a
/// file or a journal keeps no escape codes.
pub fn init(filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid --log filter {filter:?}: {e}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    Ok(())
}
