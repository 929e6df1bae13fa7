//! `auth0-operator run --help` and the README's configuration table tell the same defaults.

use std::process::Command;

/// Option blocks of `run --help`: each starts at a line whose first non-space is `-`.
fn help_blocks() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_auth0-operator"))
        .args(["run", "--help"])
        .env_remove("AUTH0_RATE_LIMIT")
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('-') || blocks.is_empty() {
            blocks.push(String::new());
        }
        let last = blocks.last_mut().unwrap();
        last.push_str(line.trim());
        last.push(' ');
    }
    blocks
}

/// `(variable, default)` of each README configuration row whose default is a literal value.
fn readme_defaults() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `") && l.matches('|').count() >= 4)
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let var = cells[1].split_whitespace().next()?.trim_matches('`');
            let default = cells[2];
            let literal =
                default.starts_with('`') && default.ends_with('`') && !default.contains(" / ");
            (var.chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                && literal)
                .then(|| (var.to_string(), default.trim_matches('`').to_string()))
        })
        .collect()
}

#[test]
fn run_help_and_readme_agree_on_defaults() {
    let blocks = help_blocks();
    let rows = readme_defaults();
    assert!(
        rows.iter().any(|(v, _)| v == "AUTH0_RATE_LIMIT"),
        "the README documents AUTH0_RATE_LIMIT: {rows:?}"
    );
    for (var, default) in &rows {
        let block = blocks
            .iter()
            .find(|b| b.contains(&format!("[env: {var}=")))
            .unwrap_or_else(|| panic!("run --help has no option for {var}"));
        assert!(
            block.contains(&format!("[default: {default}]"))
                || block.contains(&format!("Default `{default}`"))
                // A default derived from another setting, e.g. `https://<domain>`.
                || default.contains('<') && block.contains(&format!("`{default}`")),
            "README says {var} defaults to {default}; run --help says: {block}"
        );
    }
    // And both say what the code does.
    let rl = auth0_operator::auth0::RateLimitConfig::default();
    let code = format!("{}:{}", rl.burst, rl.per_second);
    assert!(
        rows.contains(&("AUTH0_RATE_LIMIT".to_string(), code.clone())),
        "README's AUTH0_RATE_LIMIT default is the code's {code}"
    );
}

/// docs/troubleshooting.md's table of events names every event reason the operator uses for
/// what a reconcile did (`EventReason::ALL`), on a Normal row.
#[test]
fn docs_name_every_event_reason() {
    use auth0_operator::crd::EventReason;
    let troubleshooting = std::fs::read_to_string(format!(
        "{}/docs/troubleshooting.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for r in EventReason::ALL {
        assert!(seen.insert(r.as_str()), "two event reasons share {r}");
        assert!(
            troubleshooting.lines().any(|l| l.starts_with("| Normal | ")
                && l.split(" | ")
                    .nth(1)
                    .is_some_and(|c| c.contains(&format!("`{r}`")))),
            "docs/troubleshooting.md's events table has no Normal row naming `{r}`"
        );
    }
}

/// docs/troubleshooting.md explains every `Ready` reason a managed resource can report (a
/// `### <Reason>` section each), and the README's list of failure reasons names every one that
/// is not `Synced` or `Reconciling`.
#[test]
fn docs_explain_every_reason() {
    use auth0_operator::crd::Reason;
    let read = |p: &str| std::fs::read_to_string(format!("{}/{p}", env!("CARGO_MANIFEST_DIR")));
    let troubleshooting = read("docs/troubleshooting.md").unwrap();
    let readme = read("README.md").unwrap();
    for r in Reason::ALL {
        assert!(
            troubleshooting
                .lines()
                .any(|l| l.trim_end() == format!("### {r}")),
            "docs/troubleshooting.md has no `### {r}` section"
        );
        if !matches!(r, Reason::Synced | Reason::Reconciling) {
            assert!(
                readme.contains(&format!("`{r}`")),
                "README.md does not name {r}"
            );
        }
    }
}
