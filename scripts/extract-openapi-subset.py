#!/usr/bin/env python3
"""Extract the request schemas the Auth0 simulator validates against from the official
Management API OpenAPI document (OAS 3.1), plus every component they transitively `$ref`.

Usage: scripts/extract-openapi-subset.py [SPEC] [OUT]
  SPEC defaults to ../shared/reference/auth0-mgmt-openapi.json (relative to the repo root)
  OUT  defaults to src/sim/openapi-subset.json

Descriptions, examples and `x-*` vendor extensions are dropped (they carry no validation
semantics); everything else is copied verbatim. Python 3 standard library only.
"""
import json
import os
import sys

ROOTS = [
    "CreateClientRequestContent",
    "UpdateClientRequestContent",
    "CreateClientGrantRequestContent",
    "UpdateClientGrantRequestContent",
]
DROP = {"description", "example", "examples", "title", "deprecated", "externalDocs"}
# Keywords whose value is a map of *names* -> schema (the names must never be stripped).
NAME_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}


def strip(node, in_name_map=False):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if in_name_map:
                out[k] = strip(v)
            elif k in DROP or k.startswith("x-"):
                continue
            else:
                out[k] = strip(v, in_name_map=k in NAME_MAPS)
        return out
    if isinstance(node, list):
        return [strip(x) for x in node]
    return node


def refs(node, acc):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                prefix = "#/components/schemas/"
                if not v.startswith(prefix):
                    raise SystemExit(f"unsupported $ref {v}")
                acc.add(v[len(prefix):])
            else:
                refs(v, acc)
    elif isinstance(node, list):
        for x in node:
            refs(x, acc)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    spec_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        repo, "..", "shared", "reference", "auth0-mgmt-openapi.json")
    out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        repo, "src", "sim", "openapi-subset.json")
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    schemas = spec["components"]["schemas"]
    seen, todo = set(), list(ROOTS)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        acc = set()
        refs(schemas[name], acc)
        todo.extend(sorted(acc - seen))
    subset = {
        "openapi": spec.get("openapi"),
        "info": {
            "source": "auth0-mgmt-openapi.json (auth0/docs-v2 management-api-oas.json)",
            "version": spec.get("info", {}).get("version"),
            "roots": ROOTS,
            "generated_by": "scripts/extract-openapi-subset.py",
        },
        "components": {"schemas": {n: strip(schemas[n]) for n in sorted(seen)}},
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(subset, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(seen)} schemas to {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
