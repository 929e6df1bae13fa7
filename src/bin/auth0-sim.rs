//! `auth0-sim`: runs the Auth0 Management API simulator on a TCP port.
//!
//! Prints exactly one line on stdout, `auth0-sim listening on http://ADDR`, then serves
//! until interrupted. Logs go to stderr (`RUST_LOG`, default `info`); secrets and tokens are
//! never logged.

use std::net::SocketAddr;
use std::time::Duration;

use auth0_operator::sim::{Faults, RateLimit, SimConfig, Simulator, is_connection_strategy};
use clap::{ArgAction, Parser};

#[derive(Parser, Debug)]
#[command(
    name = "auth0-sim",
    about = "Auth0 Management API simulator (in-memory)"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Tenant domain; the Management API audience is https://DOMAIN/api/v2/.
    #[arg(long, default_value = "example.auth0.test")]
    domain: String,
    /// Management application client id accepted by /oauth/token.
    #[arg(long, env = "AUTH0_SIM_CLIENT_ID")]
    client_id: String,
    /// Management application client secret accepted by /oauth/token.
    #[arg(long, env = "AUTH0_SIM_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Extra API (resource server) identifiers to seed; repeatable.
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// Scopes granted to the management application (comma or space separated).
    #[arg(long)]
    scopes: Option<String>,
    /// Token bucket for /api/v2: BURST:PER_SECOND (e.g. 10:2).
    #[arg(long, value_parser = parse_rate_limit)]
    rate_limit: Option<RateLimit>,
    /// Fraction of /api/v2 requests answered with 500/503.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Latency added to each /api/v2 request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction of /api/v2 requests whose connection is dropped without a response.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 86400)]
    token_ttl: u64,
    /// A connection to add to the tenant's Username-Password-Authentication, as NAME or
    /// NAME:STRATEGY (strategy `auth0`, a database connection, unless given; e.g.
    /// `google-oauth2`, `samlp`); repeatable.
    #[arg(long = "connection", value_name = "NAME[:STRATEGY]", value_parser = parse_connection)]
    connections: Vec<(String, String)>,
    /// The tenant flag enable_client_connections: a new application is enabled on every
    /// existing connection.
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    enable_client_connections: bool,
}

fn parse_connection(s: &str) -> Result<(String, String), String> {
    let (name, strategy) = match s.rsplit_once(':') {
        Some((n, st)) => (n, st),
        None => (s, "auth0"),
    };
    if name.is_empty() {
        return Err("expected NAME or NAME:STRATEGY".into());
    }
    if !is_connection_strategy(strategy) {
        return Err(format!(
            "unknown strategy {strategy:?} (one of Auth0's connection strategies, e.g. auth0, google-oauth2, samlp)"
        ));
    }
    Ok((name.to_string(), strategy.to_string()))
}

fn parse_rate_limit(s: &str) -> Result<RateLimit, String> {
    let (b, r) = s.split_once(':').ok_or("expected BURST:PER_SECOND")?;
    let burst: u32 = b.parse().map_err(|e| format!("burst: {e}"))?;
    let per_second: f64 = r.parse().map_err(|e| format!("per_second: {e}"))?;
    if burst == 0 || per_second < 0.0 {
        return Err("burst must be > 0 and per_second >= 0".into());
    }
    Ok(RateLimit { burst, per_second })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    for (name, v) in [
        ("--fault-rate", args.fault_rate),
        ("--drop-rate", args.drop_rate),
    ] {
        anyhow::ensure!((0.0..=1.0).contains(&v), "{name} must be within 0..=1");
    }
    let mut cfg = SimConfig::new(&args.domain, &args.client_id, &args.client_secret);
    cfg.audiences = args.audiences;
    if let Some(s) = args.scopes {
        cfg.scopes = s
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    for (name, strategy) in args.connections {
        anyhow::ensure!(
            !cfg.connections.iter().any(|(n, _)| *n == name),
            "--connection {name}: the tenant has a connection of that name"
        );
        cfg.connections.push((name, strategy));
    }
    cfg.enable_client_connections = args.enable_client_connections;
    cfg.token_ttl = Duration::from_secs(args.token_ttl);
    cfg.rate_limit = args.rate_limit;
    cfg.faults = Faults {
        error_rate: args.fault_rate,
        latency: Duration::from_millis(args.latency_ms),
        drop_rate: args.drop_rate,
        garbage_rate: 0.0,
    };
    let sim = Simulator::start_on(cfg, args.listen).await?;
    println!("auth0-sim listening on {}", sim.base_url());
    tracing::info!(domain = %sim.domain(), "auth0-sim ready");
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
