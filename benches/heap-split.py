#!/usr/bin/env python3
"""Splits a heaptrack profile's peak heap by what holds it.

    heaptrack_print -f heap.zst -t 0 --flamegraph-cost-type peak -F stacks.txt
    benches/heap-split.py stacks.txt

Each line of `stacks.txt` is one call stack (root first, frames separated by `;`) and the bytes
it held at the moment of the peak.
"""

import re
import sys

# (category, regular expression over one frame), for stacks no owner above claims. A stack goes
# to the category of its innermost (leaf-most) frame that matches one: the closest owner of the memory names it. Frames are
# `function<type parameters> (file.rs)` (`heaptrack_print -t 0` on a build with line tables:
# `cargo build --profile profiling`); symbol-only frames of a release build are demangled.
OWNERS = [
    ("event recorder (series cache, Events in flight)", r"controller::events|\(events\.rs\)"),
    ("Auth0 listing cache (inventory)", r"controller::inventory|\(inventory\.rs\)"),
    ("Secret cache", r"^apply_watcher_event<[^;]*core::v1::secret::Secret"),
    (
        "custom resource caches (lists, watch events, stores)",
        r"^(apply_watcher_event|step|step_trampolined)\b|kube_runtime::(reflector|watcher)::[a-z_]+ |\((watcher|store|reflect)\.rs\)$",
    ),
]
CATEGORIES = [
    ("controller queues (scheduler, runner, wake-ups)", r"kube_runtime::(scheduler|controller)|\((scheduler|runner)\.rs\)"),
    ("Auth0 API client (requests, responses, limiter, tokens)", r"auth0_operator::auth0::|\((ratelimit|token|models)\.rs\)"),
    (
        "reconciles in flight",
        r"auth0_operator::controller::|\((driver|grant|resource_server|build|template|credentials|rotation|status|tenant|keys)\.rs\)",
    ),
    ("Kubernetes client (requests, responses)", r"kube_client::"),
    ("HTTP and TLS buffers", r"hyper|h2::|rustls|reqwest|\((codec|framed_read|framed_write)\.rs\)"),
    ("metrics and HTTP server", r"prometheus_client|auth0_operator::(metrics|http)|axum"),
    ("logging", r"tracing_subscriber|tracing_core"),
    ("async runtime (tasks, timers, I/O)", r"tokio::"),
]


def strip_generics(frame: str) -> str:
    """`f<A<B>, C> (file.rs)` → `f<> (file.rs)`."""
    out, depth = [], 0
    for ch in frame:
        if ch == "<":
            if depth == 0:
                out.append("<>")
            depth += 1
        elif ch == ">" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def demangle(frame: str) -> str:
    """Turns the legacy Rust mangling heaptrack leaves in symbol-only frames into paths."""
    for a, b in [
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$RF$", "&"),
        ("$u20$", " "),
        ("$C$", ","),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("..", "::"),
    ]:
        frame = frame.replace(a, b)
    return frame


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    totals: dict[str, int] = {}
    total = 0
    compiled = [(name, re.compile(p)) for name, p in CATEGORIES]
    compiled_owners = [(name, re.compile(p)) for name, p in OWNERS]
    with open(sys.argv[1]) as f:
        for line in f:
            stack, _, cost = line.rstrip("\n").rpartition(" ")
            if not cost.isdigit():
                continue
            n = int(cost)
            total += n
            full = [demangle(f) for f in stack.split(";")]
            # Function and file, without the type parameters (which name every type a
            # future carries, `kube_runtime::watcher` among them).
            frames = [strip_generics(f) for f in full]
            # Owners that never run inside one another name the whole stack (a cache's watch
            # decodes `Auth0ClientGrant`s with the same file names as a reconcile's code);
            # else the innermost frame that matches a category does.
            cat = next(
                (
                    name
                    for name, rx in compiled_owners
                    if any(rx.search(f) for f in (full if name == "Secret cache" else frames))
                ),
                None,
            )
            if cat is None:
                cat = "other"
                for frame in reversed(frames):
                    hit = next((name for name, rx in compiled if rx.search(frame)), None)
                    if hit:
                        cat = hit
                        break
            totals[cat] = totals.get(cat, 0) + n
    print("| held at the peak | MiB | share |")
    print("| --- | ---: | ---: |")
    for cat, n in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {cat} | {n / 2**20:.1f} | {100 * n / max(total, 1):.0f} % |")
    print(f"| **heap at the peak** | **{total / 2**20:.1f}** | 100 % |")


if __name__ == "__main__":
    main()
