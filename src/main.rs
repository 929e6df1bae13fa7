//! The `auth0-operator` binary: a thin command-line layer over the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "auth0-operator",
    version,
    about = "Kubernetes operator for Auth0 applications and client grants"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controllers against the cluster in KUBECONFIG (or the in-cluster config).
    Run(Box<auth0_operator::config::RunArgs>),
    /// Local loop: etcd + kube-apiserver, the Auth0 simulator (or a real tenant), the CRDs, the
    /// operator and the examples, until Ctrl-C. Run it through `scripts/dev.sh`.
    #[cfg(all(feature = "sim", feature = "envtest"))]
    Dev(Box<auth0_operator::dev::DevArgs>),
    /// Write manifests for an existing tenant's applications, APIs and grants (observe-only
    /// unless --manage), so it can be brought under the operator without a change in Auth0.
    Import(Box<auth0_operator::import::ImportArgs>),
    /// Print the CustomResourceDefinitions as YAML (or write one file per CRD with --dir).
    Crds {
        /// Write `<plural>.<group>.yaml` files into this directory instead of printing.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Write every file generated from the CRD types and the table of kinds: crds/, the chart's
    /// crds/ and RBAC rules on the kinds, the Argo CD health check configuration.
    Generate {
        /// The repository's root.
        #[arg(long, default_value = ".")]
        root: std::path::PathBuf,
    },
}

/// The async runtime. The operator waits on I/O almost all the time, so two worker threads are
/// plenty, and fewer threads keep memory low on large nodes (each one gets its own allocator
/// arena). `TOKIO_WORKER_THREADS` overrides it.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        b.worker_threads(cpus.clamp(1, 2));
    }
    b.enable_all().build()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crds { dir: None } => {
            print!("{}", auth0_operator::controller::kinds::crds_yaml());
            ExitCode::SUCCESS
        }
        Command::Crds { dir: Some(dir) } => {
            for (file, yaml) in auth0_operator::controller::kinds::crd_files() {
                let path = dir.join(file);
                if let Err(e) = std::fs::write(&path, yaml) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Command::Generate { root } => {
            let files = match auth0_operator::manifests::files(&root) {
                Ok(files) => files,
                Err(e) => {
                    eprintln!(
                        "error: cannot read the sources under {} (run it from the repository's root): {e}",
                        root.display()
                    );
                    return ExitCode::FAILURE;
                }
            };
            for (file, text) in files {
                let path = root.join(file);
                if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
                    continue;
                }
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Command::Import(args) => {
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            auth0_operator::auth0::install_crypto_provider();
            match rt.block_on(auth0_operator::import::run(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        #[cfg(all(feature = "sim", feature = "envtest"))]
        Command::Dev(mut args) => {
            // The report is printed on stdout; the operator's log goes to a file (RUST_LOG sets
            // its level, default info) and its warnings also to the console.
            let log_file = auth0_operator::dev::log_file_path(&args);
            if let Err(e) = auth0_operator::telemetry::init_dev(&log_file) {
                eprintln!(
                    "error: cannot write the operator log {}: {e} (choose another with --log-file)",
                    log_file.display()
                );
                return ExitCode::FAILURE;
            }
            args.log_file = Some(log_file);
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(auth0_operator::dev::run(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run(args) => {
            let config = match args.resolve() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            auth0_operator::telemetry::init(config.log_format);
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(auth0_operator::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    // kube's errors already print their own sources, so show the context and
                    // the first cause only.
                    match e.source() {
                        Some(cause) => eprintln!("error: {e}: {cause}"),
                        None => eprintln!("error: {e}"),
                    }
                    ExitCode::FAILURE
                }
            }
        }
    }
}
