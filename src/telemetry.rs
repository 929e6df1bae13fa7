//! Logging set-up: `RUST_LOG` filters (default `info`); text or JSON lines on stderr.
//!
//! Text lines are coloured only when stderr is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>), so logs written to a file or a pipe carry no escape codes.

use std::{ffi::OsStr, io::IsTerminal as _, path::Path, sync::Mutex};

use tracing::{Level, Metadata};
use tracing_subscriber::{EnvFilter, Layer as _, filter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global subscriber (default filter `info`); a second call is a no-op.
pub fn init(format: LogFormat) {
    init_with_default(format, "info");
}

/// Like [`init`], with another filter when `RUST_LOG` is unset.
pub fn init_with_default(format: LogFormat, default_filter: &str) {
    let registry = tracing_subscriber::registry().with(env_filter(default_filter));
    let _ = match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_ansi(stderr_ansi())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}

/// The dev loop's logging: everything `RUST_LOG` selects (default `info`) goes, as plain text,
/// to `log_file` (created with its directory, replaced on each start); warnings and errors
/// ([`dev_console_shows`]) are also shown on stderr, coloured only on a terminal. A second call
/// installs nothing but still creates the file.
pub fn init_dev(log_file: &Path) -> std::io::Result<()> {
    if let Some(dir) = log_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::File::create(log_file)?;
    let _ = tracing_subscriber::registry()
        .with(
            fmt::layer()
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .with_filter(env_filter("info")),
        )
        .with(
            fmt::layer()
                .without_time()
                .with_target(false)
                .with_ansi(stderr_ansi())
                .with_writer(std::io::stderr)
                .with_filter(filter::filter_fn(dev_console_shows)),
        )
        .try_init();
    Ok(())
}

/// What `auth0-operator dev` shows on the console next to its report: warnings and errors, so a
/// failing example is visible at once, with the operator's spans (which object) as context.
/// `kube_client`'s are left to the log file: the API server's answers while it starts or stops
/// are expected there.
fn dev_console_shows(meta: &Metadata<'_>) -> bool {
    if meta.is_span() {
        return meta.target().starts_with("auth0_operator");
    }
    *meta.level() <= Level::WARN && !meta.target().starts_with("kube_client")
}

fn env_filter(default_filter: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter))
}

/// Whether text written to stderr may be coloured.
fn stderr_ansi() -> bool {
    use_ansi(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// Colour only a terminal, and never when `NO_COLOR` is set to a non-empty value.
fn use_ansi(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_a_terminal_without_no_color() {
        assert!(use_ansi(true, None));
        assert!(use_ansi(true, Some(OsStr::new(""))));
        assert!(!use_ansi(true, Some(OsStr::new("1"))));
        assert!(
            !use_ansi(false, None),
            "a file or a pipe gets no escape codes"
        );
        assert!(!use_ansi(false, Some(OsStr::new("1"))));
    }
}
