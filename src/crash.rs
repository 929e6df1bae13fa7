//! Crash points for tests: with `AUTH0_OPERATOR_CRASH_AFTER_WRITES=N` the process aborts right
//! after its Nth write (to Auth0, to a credentials Secret, to a status), as if it were killed
//! at that instant. `tests/rotation.rs` uses it to stop the operator after every step of a
//! rotation, deterministically. Only builds with the `envtest` feature (tests, the dev loop)
//! read the variable; in the operator image this is a no-op.

/// Called after each write has succeeded; `what` names it in the last line the process logs.
pub fn after_write(what: &str) {
    #[cfg(feature = "envtest")]
    {
        use std::sync::{
            OnceLock,
            atomic::{AtomicI64, Ordering},
        };
        static REMAINING: OnceLock<Option<AtomicI64>> = OnceLock::new();
        let remaining = REMAINING.get_or_init(|| {
            std::env::var("AUTH0_OPERATOR_CRASH_AFTER_WRITES")
                .ok()
                .and_then(|v| v.parse::<i64>().ok())
                .map(AtomicI64::new)
        });
        if let Some(r) = remaining
            && r.fetch_sub(1, Ordering::SeqCst) == 1
        {
            eprintln!("AUTH0_OPERATOR_CRASH_AFTER_WRITES: aborting after {what}");
            std::process::abort();
        }
    }
    #[cfg(not(feature = "envtest"))]
    let _ = what;
}
