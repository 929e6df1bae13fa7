//! Logging set-up: `RUST_LOG` filters (default `info`), text on stderr.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber; a second call is a no-op.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init();
}
