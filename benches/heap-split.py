#!/usr/bin/env python3
"""Splits a heaptrack profile's peak heap by what holds it.

    heaptrack_print -f heap.zst --flamegraph-cost-type peak -F stacks.txt
    benches/heap-split.py stacks.txt

Each line of `stacks.txt` is one call stack (root first, frames separated by `;`) and the bytes
it held at the moment of the peak. A stack goes to the first category whose pattern it matches.
"""

import re
import sys

# (category, regular expression over the whole stack, frames demangled and joined with `;`),
# tried in order: from the most specific holder to the most general.
CATEGORIES = [
    ("event recorder (cache + Events in flight)", r"auth0_operator::controller::events"),
    ("Auth0 listing cache (inventory)", r"auth0_operator::controller::inventory"),
    ("Secret cache", r"^(?=.*kube_runtime::(reflector|watcher))(?=.*core::v1::secret::Secret)"),
    ("custom resource caches (Auth0Client, grants, APIs, tenants)", r"kube_runtime::(reflector|watcher)|ObjectList"),
    ("Auth0 API client (requests, responses, limiter)", r"auth0_operator::auth0::"),
    ("reconciles in flight", r"auth0_operator::controller::"),
    ("controller queues (scheduler, runner, wake-ups)", r"kube_runtime::(scheduler|controller)"),
    ("Kubernetes client (requests, responses)", r"kube_client::"),
    ("HTTP and TLS buffers", r"hyper|h2::|rustls|reqwest|tower"),
    ("metrics and HTTP server", r"prometheus_client|auth0_operator::(metrics|http)|axum"),
    ("logging", r"tracing"),
    ("async runtime (tasks, timers, I/O)", r"tokio::"),
]


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
    with open(sys.argv[1]) as f:
        for line in f:
            stack, _, cost = line.rstrip("\n").rpartition(" ")
            if not cost.isdigit():
                continue
            n = int(cost)
            total += n
            frames = demangle(stack)
            cat = next((name for name, rx in compiled if rx.search(frames)), "other")
            totals[cat] = totals.get(cat, 0) + n
    print("| held at the peak | MiB | share |")
    print("| --- | ---: | ---: |")
    for cat, n in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {cat} | {n / 2**20:.1f} | {100 * n / max(total, 1):.0f} % |")
    print(f"| **heap at the peak** | **{total / 2**20:.1f}** | 100 % |")


if __name__ == "__main__":
    main()
