//! A real control plane for integration tests: `etcd` + `kube-apiserver` started from the binaries
//! in `$KUBEBUILDER_ASSETS` (the envtest convention; `scripts/envtest-assets.sh` provisions them).
//!
//! Each [`TestEnv`] owns a temporary directory (etcd data, apiserver certificates, token file,
//! service-account key, kubeconfigs, process logs) and both child processes, on free loopback
//! ports. Dropping it (or [`TestEnv::stop`]) kills the processes and removes the directory.
//!
//! Authentication uses a static token file: an admin user in `system:masters` plus the users in
//! [`STATIC_USERS`] (for RBAC tests). Authorization is `RBAC`.
//!
//! Any `kube-apiserver` from 1.20 to current releases works (with the etcd 3.4-3.6 that ships with
//! it): the harness reads the binary's version (`kube-apiserver --version`) and passes a flag that
//! only some releases accept only to those ([`KubeVersion`]). CI runs 1.20.2 (what
//! `scripts/envtest-assets.sh` builds); `tests/envtest_versions.rs` starts the harness against a
//! stand-in for a current release.
//!
//! ```no_run
//! # async fn t() {
//! let Some(env) = auth0_operator::envtest::start_or_skip("my_test").await else { return };
//! let client = env.client();
//! # drop(client);
//! # }
//! ```

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use tokio::process::{Child, Command};

/// Environment variable naming the directory that holds `etcd` and `kube-apiserver`.
pub const ASSETS_ENV: &str = "KUBEBUILDER_ASSETS";

/// Name of the admin user (group `system:masters`) used by [`TestEnv::client`].
pub const ADMIN_USER: &str = "envtest-admin";

/// Extra users registered in the apiserver's static token file, as `(name, groups)`. They have no
/// permissions until a test grants some with RBAC; get a client for one with
/// [`TestEnv::client_for_static_user`].
pub const STATIC_USERS: &[(&str, &[&str])] = &[
    ("alice", &["envtest:team-a"]),
    ("bob", &["envtest:team-b"]),
    ("carol", &[]),
];

/// How long [`TestEnv::start`] waits for the control plane to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// How many times [`TestEnv::start`] retries with fresh ports when a process dies early.
const START_ATTEMPTS: usize = 3;
/// DER prefix of a SubjectPublicKeyInfo for an uncompressed P-256 point (id-ecPublicKey,
/// prime256v1, BIT STRING of 66 bytes); the 65-byte point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// Lines of the process log quoted in start errors.
const LOG_TAIL_LINES: usize = 30;
/// How long `kube-apiserver --version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// A Kubernetes release, `major.minor` (the patch level changes no flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// `1`.
    pub major: u32,
    /// `20` in 1.20.2.
    pub minor: u32,
}

impl KubeVersion {
    /// The first release without `--insecure-port` (and `--insecure-bind-address`, `--address`,
    /// `--port`): passing it makes the apiserver exit with `Error: unknown flag: --insecure-port`.
    /// Releases before 1.20 listen on an insecure port 8080 unless it is `0`; 1.20-1.23 accept
    /// only `0` (their default).
    pub const INSECURE_PORT_REMOVED: KubeVersion = KubeVersion::new(1, 24);
    /// The first release that runs the CEL rules of a CRD (`x-kubernetes-validations`) by
    /// default (beta; 1.23-1.24 only behind a feature gate, older releases drop the field):
    /// tests expect those rules to refuse writes from this release on.
    pub const CRD_CEL_RULES: KubeVersion = KubeVersion::new(1, 25);

    /// `major.minor`.
    pub const fn new(major: u32, minor: u32) -> Self {
        KubeVersion { major, minor }
    }

    /// Reads the version out of `kube-apiserver --version` (`Kubernetes v1.20.2`), or of a bare
    /// `v1.32.0` / `1.32`. Pre-release and build suffixes (`-rc.1`, `+k3s1`) are ignored. `None`
    /// for anything else, including the `v0.0.0` of a binary built without version stamps.
    pub fn parse(text: &str) -> Option<Self> {
        text.split_whitespace().find_map(|word| {
            let word = word.strip_prefix('v').unwrap_or(word);
            let mut parts = word.split('.');
            let major: u32 = parts.next()?.parse().ok()?;
            let minor = parts.next()?;
            let digits = minor
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(minor.len());
            let minor: u32 = minor[..digits].parse().ok()?;
            (major > 0).then_some(KubeVersion { major, minor })
        })
    }
}

impl std::fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Where the apiserver listens and finds its inputs: everything [`apiserver_args`] needs besides
/// the version.
#[derive(Debug, Clone)]
struct ApiserverLayout {
    secure_port: u16,
    etcd_url: String,
    cert_dir: PathBuf,
    token_file: PathBuf,
    sa_key: PathBuf,
    sa_pub: PathBuf,
}

/// The `kube-apiserver` command line for a binary of `version`.
///
/// Every flag here is accepted by 1.20 through 1.34, except `--insecure-port=0`, which is passed
/// only before [`KubeVersion::INSECURE_PORT_REMOVED`]. An unknown version (`None`: the output of
/// `--version` did not parse) is taken for a current release: a removed flag stops the
/// apiserver, while leaving out `--insecure-port=0` changes nothing from 1.20 on.
fn apiserver_args(version: Option<KubeVersion>, l: &ApiserverLayout) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={}", l.secure_port),
    ];
    if version.is_some_and(|v| v < KubeVersion::INSECURE_PORT_REMOVED) {
        args.push("--insecure-port=0".into());
    }
    args.extend([
        format!("--cert-dir={}", l.cert_dir.display()),
        format!("--etcd-servers={}", l.etcd_url),
        format!("--token-auth-file={}", l.token_file.display()),
        "--authorization-mode=RBAC".into(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-account-key-file={}", l.sa_pub.display()),
        format!("--service-account-signing-key-file={}", l.sa_key.display()),
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        "--allow-privileged=true".into(),
        "--disable-admission-plugins=ServiceAccount".into(),
    ]);
    args
}

/// Why a [`TestEnv`] could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EnvtestError {
    /// `KUBEBUILDER_ASSETS` is unset or empty.
    #[error("{ASSETS_ENV} is not set: run `export {ASSETS_ENV}=\"$(scripts/envtest-assets.sh)\"`")]
    AssetsNotSet,
    /// A binary is missing from the assets directory.
    #[error("{0} does not exist or is not a file (run scripts/envtest-assets.sh)")]
    MissingBinary(PathBuf),
    /// A filesystem or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Generating the service-account key or a token failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// A child process exited before the control plane was ready.
    #[error("{name} exited early ({status}); last lines of {log}:\n{tail}")]
    ProcessExited {
        /// `etcd` or `kube-apiserver`.
        name: &'static str,
        /// Its exit status.
        status: ExitStatus,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        tail: String,
    },
    /// The control plane did not become ready in time.
    #[error("timed out after {timeout:?} waiting for {what}; last error: {last_error}\n{logs}")]
    Timeout {
        /// What was awaited.
        what: &'static str,
        /// How long we waited.
        timeout: Duration,
        /// The last probe error.
        last_error: String,
        /// The last lines of the etcd and apiserver logs.
        logs: String,
    },
    /// The kubeconfig written for the apiserver could not be loaded.
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// A kube client could not be built.
    #[error("kube client: {0}")]
    Kube(#[from] kube::Error),
    /// The user is not one of [`STATIC_USERS`] (or the admin).
    #[error("unknown static user {0:?}; known: {ADMIN_USER} and {STATIC_USERS:?}")]
    UnknownUser(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EnvtestError {
    let context = context.into();
    move |source| EnvtestError::Io { context, source }
}

/// One registered static-token user.
#[derive(Debug, Clone)]
struct TokenUser {
    name: String,
    token: String,
}

/// A running etcd + kube-apiserver. Kill with [`TestEnv::stop`] or by dropping it.
pub struct TestEnv {
    // Children are declared (and therefore dropped) before the temp dir.
    apiserver: Option<Child>,
    etcd: Option<Child>,
    config: kube::Config,
    client: kube::Client,
    server_url: String,
    kubeconfig: PathBuf,
    ca_file: PathBuf,
    users: Vec<TokenUser>,
    apiserver_version: Option<KubeVersion>,
    /// How to start the apiserver again: binary, arguments, log file.
    apiserver_cmd: (PathBuf, Vec<String>, PathBuf),
    tmp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("server_url", &self.server_url)
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

impl TestEnv {
    /// Directory from `KUBEBUILDER_ASSETS`; `None` when unset/empty.
    pub fn assets_dir() -> Option<PathBuf> {
        std::env::var_os(ASSETS_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// Start etcd + kube-apiserver from `$KUBEBUILDER_ASSETS` on free loopback ports in a temp
    /// dir, and wait until the apiserver's `/readyz` answers `ok` and the `default` namespace
    /// exists. Typically 5-15 s.
    ///
    /// A process that dies early because its port was taken between probing and binding is retried
    /// with fresh ports a couple of times. Errors quote the last lines of the process logs.
    pub async fn start() -> Result<TestEnv, EnvtestError> {
        let assets = Self::assets_dir().ok_or(EnvtestError::AssetsNotSet)?;
        Self::start_with_assets(&assets).await
    }

    /// [`TestEnv::start`] with the `etcd` and `kube-apiserver` of `assets` instead of
    /// `$KUBEBUILDER_ASSETS`.
    pub async fn start_with_assets(assets: &Path) -> Result<TestEnv, EnvtestError> {
        let etcd_bin = assets.join("etcd");
        let apiserver_bin = assets.join("kube-apiserver");
        for bin in [&etcd_bin, &apiserver_bin] {
            if !bin.is_file() {
                return Err(EnvtestError::MissingBinary(bin.clone()));
            }
        }
        let version_text = version_output(&apiserver_bin).await?;
        let version = KubeVersion::parse(&version_text);
        if version.is_none() {
            eprintln!(
                "envtest: cannot read a version in `{} --version` ({:?}); assuming a current release",
                apiserver_bin.display(),
                version_text.trim()
            );
        }
        // kube 5 (rustls) needs a process-wide crypto provider; ignore "already installed".
        let _ = rustls::crypto::ring::default_provider().install_default();

        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(&etcd_bin, &apiserver_bin, version).await {
                Err(e @ EnvtestError::ProcessExited { .. })
                    if attempt < START_ATTEMPTS && is_port_clash(&e) =>
                {
                    eprintln!("envtest: start attempt {attempt} failed, retrying: {e}");
                }
                other => return other,
            }
        }
    }

    async fn start_once(
        etcd_bin: &Path,
        apiserver_bin: &Path,
        version: Option<KubeVersion>,
    ) -> Result<TestEnv, EnvtestError> {
        let tmp = tempfile::Builder::new()
            .prefix("auth0-envtest-")
            .tempdir()
            .map_err(io_err("creating the envtest temp dir"))?;
        let dir = tmp.path().to_path_buf();
        let rng = SystemRandom::new();

        let [etcd_port, peer_port, api_port] = free_ports::<3>()?;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let server_url = format!("https://127.0.0.1:{api_port}");

        // Static tokens: the admin plus STATIC_USERS.
        let mut users = Vec::new();
        let mut tokens_csv = String::new();
        let all_users = std::iter::once((ADMIN_USER, &["system:masters"][..]))
            .chain(STATIC_USERS.iter().copied());
        for (name, groups) in all_users {
            let token = random_hex(&rng, 24)?;
            // token,user,uid,"group1,group2"
            if groups.is_empty() {
                let _ = writeln!(tokens_csv, "{token},{name},{name}");
            } else {
                let _ = writeln!(tokens_csv, "{token},{name},{name},\"{}\"", groups.join(","));
            }
            users.push(TokenUser {
                name: name.to_string(),
                token,
            });
        }
        let token_file = dir.join("tokens.csv");
        write_file(&token_file, tokens_csv.as_bytes())?;

        // Service-account signing key (ECDSA P-256, PKCS#8 PEM) and its public key (PKIX PEM; the
        // 1.20 public-key reader does not accept PKCS#8 private keys).
        let sa_key = dir.join("sa.key");
        let sa_pub = dir.join("sa.pub");
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| {
                EnvtestError::Crypto(format!("generating the service-account key: {e}"))
            })?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|e| EnvtestError::Crypto(format!("parsing the service-account key: {e}")))?;
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(pair.public_key().as_ref());
        write_file(&sa_key, pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes())?;
        write_file(&sa_pub, pem("PUBLIC KEY", &spki).as_bytes())?;

        let cert_dir = dir.join("certs");
        std::fs::create_dir_all(&cert_dir).map_err(io_err("creating the cert dir"))?;
        let etcd_log = dir.join("etcd.log");
        let apiserver_log = dir.join("kube-apiserver.log");

        // --- etcd
        let etcd_args: Vec<String> = vec![
            "--name=envtest".into(),
            format!("--data-dir={}", dir.join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=envtest={peer_url}"),
        ];
        let mut etcd = spawn(etcd_bin, &etcd_args, &etcd_log)?;
        let etcd_addr: SocketAddr = ([127, 0, 0, 1], etcd_port).into();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = etcd.try_wait().map_err(io_err("polling etcd"))? {
                return Err(exited("etcd", status, &etcd_log));
            }
            if TcpStream::connect_timeout(&etcd_addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return Err(EnvtestError::Timeout {
                    what: "etcd to listen",
                    timeout: READY_TIMEOUT,
                    last_error: format!("nothing listening on {etcd_addr}"),
                    logs: log_tails(&[&etcd_log]),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // --- kube-apiserver
        let apiserver_args = apiserver_args(
            version,
            &ApiserverLayout {
                secure_port: api_port,
                etcd_url: etcd_url.clone(),
                cert_dir: cert_dir.clone(),
                token_file: token_file.clone(),
                sa_key: sa_key.clone(),
                sa_pub: sa_pub.clone(),
            },
        );
        let apiserver = match spawn(apiserver_bin, &apiserver_args, &apiserver_log) {
            Ok(c) => c,
            Err(e) => {
                let _ = etcd.kill().await;
                return Err(e);
            }
        };

        // From here on, Drop kills the processes and removes the temp dir.
        let mut env = TestEnv {
            apiserver: Some(apiserver),
            etcd: Some(etcd),
            // Placeholders until the serving certificate (the CA in the kubeconfig) exists.
            config: kube::Config::new(server_url.parse().expect("valid url")),
            client: placeholder_client(&server_url)?,
            server_url: server_url.clone(),
            kubeconfig: dir.join("kubeconfig"),
            ca_file: cert_dir.join("apiserver.crt"),
            users,
            apiserver_version: version,
            apiserver_cmd: (
                apiserver_bin.to_path_buf(),
                apiserver_args.clone(),
                apiserver_log.clone(),
            ),
            tmp: Some(tmp),
        };

        let mut last_error = String::from("not probed yet");
        let mut stage: &'static str = "the apiserver serving certificate";
        let mut have_client = false;
        loop {
            if let Some(status) = env.apiserver_try_wait()? {
                return Err(exited("kube-apiserver", status, &apiserver_log));
            }
            if let Some(status) = env.etcd_try_wait()? {
                return Err(exited("etcd", status, &etcd_log));
            }
            if !have_client && env.ca_file.is_file() {
                let admin = env.user_token(ADMIN_USER)?;
                let path = env.kubeconfig.clone();
                env.write_kubeconfig(&path, ADMIN_USER, &admin)?;
                env.config = load_kubeconfig(&path).await?;
                env.client = kube::Client::try_from(env.config.clone())?;
                have_client = true;
                stage = "/readyz";
            }
            if have_client {
                match probe(&env.client, stage).await {
                    Ok(()) if stage == "/readyz" => stage = "the default namespace",
                    Ok(()) => return Ok(env),
                    Err(e) => last_error = e,
                }
            }
            if Instant::now() > deadline {
                return Err(EnvtestError::Timeout {
                    what: stage,
                    timeout: READY_TIMEOUT,
                    last_error,
                    logs: log_tails(&[&apiserver_log, &etcd_log]),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn apiserver_try_wait(&mut self) -> Result<Option<ExitStatus>, EnvtestError> {
        match self.apiserver.as_mut() {
            Some(c) => c.try_wait().map_err(io_err("polling kube-apiserver")),
            None => Ok(None),
        }
    }

    fn etcd_try_wait(&mut self) -> Result<Option<ExitStatus>, EnvtestError> {
        match self.etcd.as_mut() {
            Some(c) => c.try_wait().map_err(io_err("polling etcd")),
            None => Ok(None),
        }
    }

    /// Admin (`system:masters`) client.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// Admin (`system:masters`) configuration; default namespace `default`.
    pub fn config(&self) -> kube::Config {
        self.config.clone()
    }

    /// Admin kubeconfig file in the temp dir, usable by `kubectl --kubeconfig`.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The release of the `kube-apiserver` binary, from its `--version` (what decided the
    /// version-specific flags); `None` when that did not parse. The running server reports the
    /// same in `client().apiserver_version()`, unless the binary is a wrapper.
    pub fn apiserver_binary_version(&self) -> Option<KubeVersion> {
        self.apiserver_version
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> String {
        self.server_url.clone()
    }

    /// The temp dir holding logs (`etcd.log`, `kube-apiserver.log`), certs and kubeconfigs.
    pub fn dir(&self) -> &Path {
        self.tmp
            .as_ref()
            .expect("temp dir lives as long as the env")
            .path()
    }

    /// Client for the admin credentials impersonating `user` with `groups` (needs no registered
    /// token; RBAC then applies to that user/groups). Impersonation is what `kubectl --as` does.
    pub fn client_for_user(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<kube::Client, EnvtestError> {
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups = if groups.is_empty() {
            None
        } else {
            Some(groups.iter().map(|g| g.to_string()).collect())
        };
        Ok(kube::Client::try_from(config)?)
    }

    /// Write a kubeconfig for one of the pre-registered static-token users ([`STATIC_USERS`] or
    /// [`ADMIN_USER`]) into the temp dir and return its path (`kubeconfig-<user>`).
    pub fn write_kubeconfig_for_static_user(&self, user: &str) -> Result<PathBuf, EnvtestError> {
        let token = self.user_token(user)?;
        let path = self.dir().join(format!("kubeconfig-{user}"));
        self.write_kubeconfig(&path, user, &token)?;
        Ok(path)
    }

    /// Client authenticating with the static token of a pre-registered user ([`STATIC_USERS`]).
    pub async fn client_for_static_user(&self, user: &str) -> Result<kube::Client, EnvtestError> {
        let path = self.write_kubeconfig_for_static_user(user)?;
        let config = load_kubeconfig(&path).await?;
        Ok(kube::Client::try_from(config)?)
    }

    fn user_token(&self, user: &str) -> Result<String, EnvtestError> {
        self.users
            .iter()
            .find(|u| u.name == user)
            .map(|u| u.token.clone())
            .ok_or_else(|| EnvtestError::UnknownUser(user.to_string()))
    }

    fn write_kubeconfig(&self, path: &Path, user: &str, token: &str) -> Result<(), EnvtestError> {
        // YAML double-quoted strings: paths/tokens contain no quotes or backslashes here, but
        // escape anyway.
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let text = format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: envtest\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
             users:\n\
             - name: {user}\n  user:\n    token: {token}\n\
             contexts:\n\
             - name: envtest\n  context:\n    cluster: envtest\n    user: {user}\n    namespace: default\n\
             current-context: envtest\n",
            server = q(&self.server_url),
            ca = q(&self.ca_file.display().to_string()),
            user = q(user),
            token = q(token),
        );
        write_file(path, text.as_bytes())
    }

    /// Kill both processes, wait for them, and remove the temp dir (set `ENVTEST_KEEP_DIR=1` to
    /// keep it for debugging).
    /// Kills `kube-apiserver` (SIGKILL: its watches are cut, its clients see connection errors)
    /// and starts it again on the same port with the same certificates and etcd (so every
    /// object is still there); returns once it answers `/readyz` again. For chaos tests.
    pub async fn restart_apiserver(&mut self) -> Result<(), EnvtestError> {
        if let Some(mut child) = self.apiserver.take() {
            drop(child.stdin.take());
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        let (bin, args, log) = self.apiserver_cmd.clone();
        let log = log.with_extension("restarted.log");
        let deadline = Instant::now() + READY_TIMEOUT;
        // The port can stay busy for a moment after the kill.
        let mut last_error: String;
        loop {
            self.apiserver = Some(spawn(&bin, &args, &log)?);
            loop {
                if let Some(status) = self.apiserver_try_wait()? {
                    last_error = format!("exited: {status}");
                    break;
                }
                match probe(&self.client, "/readyz").await {
                    Ok(()) => return Ok(()),
                    Err(e) => last_error = e,
                }
                if Instant::now() > deadline {
                    return Err(EnvtestError::Timeout {
                        what: "/readyz after a restart",
                        timeout: READY_TIMEOUT,
                        last_error,
                        logs: log_tails(&[&log]),
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if Instant::now() > deadline {
                return Err(EnvtestError::Timeout {
                    what: "a restarted kube-apiserver",
                    timeout: READY_TIMEOUT,
                    last_error,
                    logs: log_tails(&[&log]),
                });
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    pub async fn stop(mut self) {
        for mut child in [self.apiserver.take(), self.etcd.take()]
            .into_iter()
            .flatten()
        {
            // Closing stdin makes the watchdog SIGKILL the program; the wrapper then exits.
            drop(child.stdin.take());
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        // Drop removes the temp dir.
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let mut children: Vec<Child> = [self.apiserver.take(), self.etcd.take()]
            .into_iter()
            .flatten()
            .collect();
        // Closing stdin makes each watchdog SIGKILL its program; the wrapper exits once the
        // program is gone, so wait (briefly) for that before the data dir is removed.
        for child in &mut children {
            drop(child.stdin.take());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !children.is_empty() && Instant::now() < deadline {
            children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_)) | Err(_)));
            if !children.is_empty() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        for child in &mut children {
            let _ = child.start_kill();
        }
        // TempDir's own Drop removes the directory unless it is kept here.
        let keep = std::env::var_os("ENVTEST_KEEP_DIR").is_some_and(|v| !v.is_empty() && v != "0");
        if keep && let Some(tmp) = self.tmp.take() {
            eprintln!("envtest: keeping {}", tmp.keep().display());
        }
    }
}

/// For tests: start a [`TestEnv`], or return `None` (after a LOUD message on stderr) when
/// `KUBEBUILDER_ASSETS` is unset. With `CI=true`, a missing `KUBEBUILDER_ASSETS` panics instead, so
/// CI cannot silently skip the integration tests. Panics when the assets are set but the control
/// plane fails to start.
pub async fn start_or_skip(test_name: &str) -> Option<TestEnv> {
    assets_or_skip(test_name)?;
    match TestEnv::start().await {
        Ok(env) => Some(env),
        Err(e) => panic!("envtest `{test_name}`: could not start etcd + kube-apiserver: {e}"),
    }
}

/// For tests: the `KUBEBUILDER_ASSETS` directory, or `None` (after a LOUD message on stderr; a
/// panic when `CI=true`) when it is unset, like [`start_or_skip`].
pub fn assets_or_skip(test_name: &str) -> Option<PathBuf> {
    let assets = TestEnv::assets_dir();
    if assets.is_none() {
        if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
            panic!(
                "CI=true but {ASSETS_ENV} is not set: run scripts/envtest-assets.sh \
                 (export {ASSETS_ENV}=\"$(scripts/envtest-assets.sh)\") before `cargo test`"
            );
        }
        let bar = "!".repeat(100);
        eprintln!(
            "\n{bar}\n!!! SKIPPING envtest test `{test_name}`: {ASSETS_ENV} is not set.\n\
             !!! This test did NOT run. To run it:\n\
             !!!     export {ASSETS_ENV}=\"$(scripts/envtest-assets.sh)\"\n{bar}\n"
        );
    }
    assets
}

// ------------------------------------------------------------------------------------ helpers

/// Reserve `N` distinct free loopback ports (all listeners are held until every port is chosen).
fn free_ports<const N: usize>() -> Result<[u16; N], EnvtestError> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err("binding 127.0.0.1:0"))?;
    let mut ports = [0u16; N];
    for (p, l) in ports.iter_mut().zip(&listeners) {
        *p = l
            .local_addr()
            .map_err(io_err("reading a local address"))?
            .port();
    }
    Ok(ports)
}

/// `/bin/sh` wrapper that runs `"$@"` and SIGKILLs it once its own stdin (a pipe held by this
/// process) reaches EOF: when the `TestEnv` closes it, or when the test process dies for any
/// reason (even SIGKILL, e.g. a test-runner timeout), so no etcd/apiserver outlives its test. The
/// wrapper exits with the program's status once the program has exited.
const WATCHDOG: &str = r#"exec 3<&0
"$@" 3<&- &
pid=$!
{ read -r _ <&3; kill -9 "$pid" 2>/dev/null; } &
exec 3<&-
wait "$pid"
"#;

/// Start `bin args...` under [`WATCHDOG`], stdout+stderr to `log`. Dropping the returned child's
/// stdin kills the program.
fn spawn(bin: &Path, args: &[String], log: &Path) -> Result<Child, EnvtestError> {
    let out = std::fs::File::create(log).map_err(io_err(format!("creating {}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(io_err(format!("duplicating {}", log.display())))?;
    Command::new("/bin/sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("envtest-watchdog")
        .arg(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .map_err(io_err(format!("spawning {}", bin.display())))
}

/// What `bin --version` prints (stdout, then stderr), whatever its exit status.
async fn version_output(bin: &Path) -> Result<String, EnvtestError> {
    let run = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(VERSION_TIMEOUT, run)
        .await
        .map_err(|_| EnvtestError::Io {
            context: format!("running `{} --version`", bin.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {VERSION_TIMEOUT:?}"),
            ),
        })?
        .map_err(io_err(format!("running `{} --version`", bin.display())))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(text)
}

/// Whether a start failure looks like a port taken between probing and binding (worth a retry).
fn is_port_clash(e: &EnvtestError) -> bool {
    matches!(e, EnvtestError::ProcessExited { tail, .. }
        if tail.contains("address already in use") || tail.contains("bind: "))
}

fn exited(name: &'static str, status: ExitStatus, log: &Path) -> EnvtestError {
    EnvtestError::ProcessExited {
        name,
        status,
        log: log.to_path_buf(),
        tail: tail(log, LOG_TAIL_LINES),
    }
}

fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

fn log_tails(logs: &[&Path]) -> String {
    logs.iter()
        .map(|l| {
            format!(
                "--- last lines of {}:\n{}",
                l.display(),
                tail(l, LOG_TAIL_LINES)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn write_file(path: &Path, contents: &[u8]) -> Result<(), EnvtestError> {
    std::fs::write(path, contents).map_err(io_err(format!("writing {}", path.display())))
}

async fn load_kubeconfig(path: &Path) -> Result<kube::Config, EnvtestError> {
    let kubeconfig = Kubeconfig::read_from(path)?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    config.default_namespace = "default".to_string();
    Ok(config)
}

/// A client used only until the real one exists (never sends requests).
fn placeholder_client(server_url: &str) -> Result<kube::Client, EnvtestError> {
    let mut config = kube::Config::new(server_url.parse().expect("valid url"));
    config.accept_invalid_certs = true;
    Ok(kube::Client::try_from(config)?)
}

async fn probe(client: &kube::Client, stage: &str) -> Result<(), String> {
    let path = if stage == "/readyz" {
        "/readyz"
    } else {
        "/api/v1/namespaces/default"
    };
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(5);
    match tokio::time::timeout(timeout, client.request_text(req)).await {
        Err(_) => Err(format!("GET {path}: no answer within {timeout:?}")),
        Ok(Err(e)) => Err(format!("GET {path}: {e}")),
        Ok(Ok(body)) if path == "/readyz" && body.trim() != "ok" => {
            Err(format!("GET {path}: {body}"))
        }
        Ok(Ok(_)) => Ok(()),
    }
}

fn random_hex(rng: &SystemRandom, bytes: usize) -> Result<String, EnvtestError> {
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf)
        .map_err(|e| EnvtestError::Crypto(format!("generating a token: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// PEM-encode `der` with the given label (64-column base64).
fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ascii"));
        out.push('\n');
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

#[cfg(test)]
mod tests {
    use super::{ApiserverLayout, KubeVersion, apiserver_args, pem};
    use std::path::PathBuf;

    fn layout() -> ApiserverLayout {
        ApiserverLayout {
            secure_port: 6443,
            etcd_url: "http://127.0.0.1:2379".into(),
            cert_dir: PathBuf::from("/t/certs"),
            token_file: PathBuf::from("/t/tokens.csv"),
            sa_key: PathBuf::from("/t/sa.key"),
            sa_pub: PathBuf::from("/t/sa.pub"),
        }
    }

    /// The flags every release from 1.20 on accepts, in order.
    const COMMON: &[&str] = &[
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        "--secure-port=6443",
        "--cert-dir=/t/certs",
        "--etcd-servers=http://127.0.0.1:2379",
        "--token-auth-file=/t/tokens.csv",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file=/t/sa.pub",
        "--service-account-signing-key-file=/t/sa.key",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--disable-admission-plugins=ServiceAccount",
    ];

    fn args_for(version_output: &str) -> Vec<String> {
        apiserver_args(KubeVersion::parse(version_output), &layout())
    }

    fn without_insecure_port(args: &[String]) -> Vec<&str> {
        args.iter()
            .map(String::as_str)
            .filter(|a| *a != "--insecure-port=0")
            .collect()
    }

    #[test]
    fn apiserver_args_follow_the_version() {
        // 1.20-1.23: the insecure port is still a flag (default 0); it is set to 0 explicitly.
        for old in ["Kubernetes v1.20.2", "Kubernetes v1.23.17"] {
            let args = args_for(old);
            assert!(
                args.iter().any(|a| a == "--insecure-port=0"),
                "{old}: {args:?}"
            );
            assert_eq!(without_insecure_port(&args), COMMON, "{old}");
        }
        // 1.24 removed the flag: passing it is `Error: unknown flag: --insecure-port`.
        for new in [
            "Kubernetes v1.24.0",
            "Kubernetes v1.32.0",
            "Kubernetes v1.34.1",
        ] {
            let args = args_for(new);
            assert_eq!(args, COMMON, "{new}");
        }
        // Unknown: taken for a current release.
        for unknown in [
            "",
            "kube-apiserver: command not found",
            "Kubernetes v0.0.0-master+$Format:%H$",
        ] {
            assert_eq!(KubeVersion::parse(unknown), None, "{unknown:?}");
            assert_eq!(args_for(unknown), COMMON, "{unknown:?}");
        }
        // No flag removed between 1.20 and 1.34 other than the insecure-serving ones is used.
        for removed in [
            "--insecure-bind-address",
            "--address",
            "--port=",
            "--kubelet-https",
        ] {
            assert!(
                !args_for("Kubernetes v1.20.2")
                    .iter()
                    .any(|a| a.starts_with(removed)),
                "{removed}"
            );
        }
    }

    #[test]
    fn kube_versions_parse_and_order() {
        let v = |s| KubeVersion::parse(s);
        assert_eq!(v("Kubernetes v1.20.2"), Some(KubeVersion::new(1, 20)));
        assert_eq!(v("Kubernetes v1.32.0\n"), Some(KubeVersion::new(1, 32)));
        assert_eq!(v("v1.33.0-rc.1"), Some(KubeVersion::new(1, 33)));
        assert_eq!(v("Kubernetes v1.31.4+k3s1"), Some(KubeVersion::new(1, 31)));
        assert_eq!(v("1.24"), Some(KubeVersion::new(1, 24)));
        assert_eq!(v("Kubernetes"), None);
        assert_eq!(v("Kubernetes vX.Y"), None);
        assert!(KubeVersion::new(1, 23) < KubeVersion::INSECURE_PORT_REMOVED);
        assert!(KubeVersion::new(1, 100) > KubeVersion::new(1, 99));
        assert_eq!(KubeVersion::new(1, 32).to_string(), "1.32");
    }

    #[test]
    fn pem_base64_matches_rfc4648_vectors() {
        let body = |s: &str| {
            pem("X", s.as_bytes())
                .lines()
                .nth(1)
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(body("f"), "Zg==");
        assert_eq!(body("fo"), "Zm8=");
        assert_eq!(body("foo"), "Zm9v");
        assert_eq!(body("foobar"), "Zm9vYmFy");
    }
}
