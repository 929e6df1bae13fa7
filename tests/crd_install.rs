//! The committed CRDs (`crds/`) install on the API server of `KUBEBUILDER_ASSETS` the ways the
//! READMEs tell users to (`kubectl apply --server-side`, client-side `kubectl apply`; `helm
//! install` is in tests/chart.rs), and the operator's start-up check names what is not served.
//!
//! On an API server that runs CEL (1.25+) this is the check that every rule fits the per-rule and
//! per-schema cost budgets: such a server estimates a rule's cost when the CRD is created and
//! refuses the CRD when it is over (`estimated rule cost exceeds budget`).
//!
//! Needs `KUBEBUILDER_ASSETS` and `kubectl` (scripts/tools.sh); skips loudly without them, and
//! fails when `CI=true`.

mod common;

use std::{path::Path, process::Command, time::Duration};

use auth0_operator::{controller::kinds::crds, envtest::start_or_skip};
use common::find_tool;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api,
    api::DeleteParams,
    runtime::wait::{await_condition, conditions},
};

const T: Duration = Duration::from_secs(30);

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
    let bin = find_tool("kubectl").unwrap_or_else(|| {
        panic!("kubectl not found: run `export PATH=\"$(scripts/tools.sh):$PATH\"` first")
    });
    common::run(
        Command::new(bin)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("KUBECONFIG", kubeconfig),
    )
}

async fn all_established(api: &Api<CustomResourceDefinition>) {
    for crd in crds() {
        let name = crd.metadata.name.clone().unwrap();
        tokio::time::timeout(
            T,
            await_condition(api.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {name} established within {T:?}"))
        .unwrap();
    }
}

async fn delete_all(api: &Api<CustomResourceDefinition>) {
    for crd in crds() {
        let name = crd.metadata.name.clone().unwrap();
        api.delete(&name, &DeleteParams::default()).await.unwrap();
        tokio::time::timeout(
            T,
            await_condition(api.clone(), &name, conditions::is_deleted("")),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {name} deleted within {T:?}"))
        .unwrap();
    }
}

#[tokio::test]
async fn committed_crds_install_with_kubectl_apply_and_the_start_up_check_names_what_is_missing() {
    if find_tool("kubectl").is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but kubectl is not found: run `export PATH=\"$(scripts/tools.sh):$PATH\"`"
        );
        eprintln!("SKIPPING: kubectl not found; run `export PATH=\"$(scripts/tools.sh):$PATH\"`");
        return;
    }
    let Some(env) = start_or_skip("committed_crds_install_with_kubectl_apply").await else {
        return;
    };
    let kube = env.client();
    let version = kube.apiserver_version().await.unwrap();
    let minor: u32 = version.minor.trim_end_matches('+').parse().unwrap();
    let api: Api<CustomResourceDefinition> = Api::all(kube.clone());
    let kubeconfig = env.kubeconfig_path().to_path_buf();

    // Nothing installed: every CRD is named, with what the API server would say.
    let e = auth0_operator::ensure_crds_installed(&kube)
        .await
        .expect_err("no CRDs are installed")
        .to_string();
    for crd in crds() {
        assert!(
            e.contains(&format!(
                "{} ({}): not installed (the API server would accept it)",
                crd.metadata.name.as_deref().unwrap(),
                crd.spec.names.kind
            )),
            "{e}"
        );
    }
    assert!(
        e.starts_with("5 of the 5 auth0.operator.dev/v1alpha1 CRDs are not served"),
        "{e}"
    );

    // Server-side apply, as the README says. API servers before 1.23 do not know
    // `x-kubernetes-validations` in their typed schema and refuse it under server-side apply
    // (the README says `kubectl create --validate=false` / `kubectl replace` there).
    let ssa = kubectl(&kubeconfig, &["apply", "--server-side", "-f", "crds/"]);
    if minor >= 23 {
        let out = ssa.unwrap_or_else(|e| panic!("Kubernetes {}: {e}", version.git_version));
        assert_eq!(out.matches("serverside-applied").count(), 5, "{out}");
        all_established(&api).await;
        auth0_operator::ensure_crds_installed(&kube)
            .await
            .expect("every CRD served after server-side apply");
        // Again: nothing changes, nothing is refused.
        kubectl(&kubeconfig, &["apply", "--server-side", "-f", "crds/"])
            .unwrap_or_else(|e| panic!("{e}"));
        delete_all(&api).await;
    } else {
        let e = ssa.expect_err("server-side apply of CEL rules before 1.25");
        assert!(e.contains("x-kubernetes-validations"), "{e}");
        eprintln!(
            "Kubernetes {}: server-side apply of crds/ refused as documented",
            version.git_version
        );
        // Whatever it created must go before the client-side apply.
        let _ = kubectl(
            &kubeconfig,
            &["delete", "--ignore-not-found", "-f", "crds/"],
        );
    }

    if minor >= 23 {
        // Client-side apply (it keeps a last-applied annotation, limited to 256 KiB), twice.
        for round in ["created", "unchanged"] {
            let out = kubectl(&kubeconfig, &["apply", "-f", "crds/"])
                .unwrap_or_else(|e| panic!("Kubernetes {}: {e}", version.git_version));
            assert_eq!(out.matches(round).count(), 5, "{round}: {out}");
        }
    } else {
        // What the README says for these servers: create, then replace to update.
        for (verb, done) in [("create", "created"), ("replace", "replaced")] {
            let out = kubectl(&kubeconfig, &[verb, "--validate=false", "-f", "crds/"])
                .unwrap_or_else(|e| panic!("Kubernetes {}: {e}", version.git_version));
            assert_eq!(out.matches(done).count(), 5, "{verb}: {out}");
        }
    }
    all_established(&api).await;

    // One CRD missing: it alone is named.
    let grants = "auth0clientgrants.auth0.operator.dev";
    api.delete(grants, &DeleteParams::default()).await.unwrap();
    await_condition(api.clone(), grants, conditions::is_deleted(""))
        .await
        .unwrap();
    // (Discovery may serve the deleted kind for a moment.)
    let e = common::eventually("the start-up check misses the grants' CRD", T, || async {
        auth0_operator::ensure_crds_installed(&kube)
            .await
            .err()
            .map(|e| e.to_string())
    })
    .await;
    assert!(
        e.starts_with("1 of the 5 auth0.operator.dev/v1alpha1 CRDs is not served by the API server: auth0clientgrants.auth0.operator.dev (Auth0ClientGrant): not installed"),
        "{e}"
    );
    assert!(!e.contains("auth0clients.auth0.operator.dev"), "{e}");

    // A CRD the API server refuses is named with the server's own message. Everywhere: a CRD
    // whose name does not match its group and plural. With CEL: an unbounded template map (what
    // every current API server refused before the bounds; `estimated rule cost exceeds budget`).
    let mut misnamed = crds()[1].clone();
    misnamed.spec.names.plural = "grants".into();
    let why = auth0_operator::why_not_served(&kube, &misnamed).await;
    assert!(
        why.starts_with("the API server refuses this CRD (422 Invalid): ")
            && why.contains("must be spec.names.plural+\".\"+spec.group"),
        "{why}"
    );
    if minor >= 25 {
        let mut unbounded = serde_json::to_value(&crds()[0]).unwrap();
        let data = &mut unbounded["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
            ["spec"]["properties"]["secretTemplate"]["properties"]["data"];
        data.as_object_mut().unwrap().remove("maxProperties");
        data["additionalProperties"]
            .as_object_mut()
            .unwrap()
            .remove("maxLength");
        let unbounded: CustomResourceDefinition = serde_json::from_value(unbounded).unwrap();
        let why = auth0_operator::why_not_served(&kube, &unbounded).await;
        assert!(
            why.starts_with("the API server refuses this CRD (422 Invalid): ")
                && why.contains("estimated rule cost exceeds budget"),
            "{why}"
        );
    }
    env.stop().await;
}
