#!/usr/bin/env python3
"""Extract the request schemas the Auth0 simulator validates against from the official
Management API OpenAPI document (OAS 3.1), the response schemas its answers are tested
against and the enums it checks query parameters with, plus every component they
transitively `$ref`.

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
    "CreateResourceServerRequestContent",
    "UpdateResourceServerRequestContent",
    "PostClientCredentialRequestContent",
    "PatchClientCredentialRequestContent",
    "UpdateEnabledClientConnectionsRequestContent",
    # Responses (tests/sim_connections.rs validates the simulator's answers against them).
    "ListConnectionsResponseContent",
    "GetConnectionEnabledClientsResponseContent",
    "ListClientConnectionsResponseContent",
    # Query parameters (`strategy=` of GET /connections and GET /clients/{id}/connections).
    "ConnectionStrategyEnum",
]
DROP = {"description", "example", "examples", "title", "deprecated", "externalDocs"}
# Keywords whose value is a map of *names* -> schema (the names must never be stripped).
NAME_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}


# Where real Auth0 (the recorded traffic in tests/data/recordings) accepts requests the OAS
# snapshot rejects, the simulator follows real Auth0. Each overlay names its evidence.
NULLABLE_ON_PATCH = {
    # PATCH /clients with these set to null returned 200 (TestAccClientAddons,
    # TestAccClientAuthenticationMethods*, TestAccClientCredentialsTokenVault*,
    # TestAccClientOIDCLogout).
    "UpdateClientRequestContent": [
        "addons", "signed_request_object", "token_vault_privileged_access", "oidc_backchannel_logout",
    ],
}
NEW_PROPERTIES = {
    # Newer than the OAS snapshot (TestAccClientIdentityAssertionAuthorizationGrant).
    "CreateClientRequestContent": {
        "identity_assertion_authorization_grant": {
            "type": "object", "properties": {"active": {"type": "boolean"}}},
    },
    "UpdateClientRequestContent": {
        "identity_assertion_authorization_grant": {
            "type": ["object", "null"], "properties": {"active": {"type": "boolean"}}},
    },
    # Sent by TF and accepted by Auth0 on POST and PATCH /resource-servers although the
    # snapshot's request schemas lack it (TestAccResourceServer*, TestAccDataSourceResourceServer;
    # the response schema has it).
    "CreateResourceServerRequestContent": {
        "token_lifetime_for_web": {"type": "integer"},
    },
    "UpdateResourceServerRequestContent": {
        "token_lifetime_for_web": {"type": "integer"},
    },
    # `grants` inside token_vault_privileged_access (TestAccClientCredentialsTokenVault*).
    "ClientTokenVaultPrivilegedAccessWithCredentialId": {
        "grants": {"type": "array", "items": {"type": "object"}},
    },
    "ClientTokenVaultPrivilegedAccessWithPublicKey": {
        "grants": {"type": "array", "items": {"type": "object"}},
    },
}


# Limits the OAS states in prose only.
LIMITS = {
    # `client_id`: "Note that the limit per PATCH request is 50 clients."
    "UpdateEnabledClientConnectionsRequestContent": {"maxItems": 50},
}


def one_of_to_any_of(node):
    """Formats are not validated (Auth0's custom formats such as `cidr` have no JSON Schema
    meaning), so `oneOf` alternatives that differ only by format would all match and fail
    `oneOf`; `anyOf` keeps the structural checks (TestAccClientCredentialsTokenVault*)."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): one_of_to_any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [one_of_to_any_of(x) for x in node]
    return node


def apply_overlays(out):
    for name, props in NULLABLE_ON_PATCH.items():
        for prop in props:
            orig = out[name]["properties"][prop]
            out[name]["properties"][prop] = {"anyOf": [orig, {"type": "null"}]}
    for name, props in NEW_PROPERTIES.items():
        for prop, schema in props.items():
            assert prop not in out[name]["properties"], f"{name}.{prop} is in the spec now"
            out[name]["properties"][prop] = schema
    for name, limits in LIMITS.items():
        for k, v in limits.items():
            assert k not in out[name], f"{name}.{k} is in the spec now"
            out[name][k] = v
    return {k: one_of_to_any_of(v) for k, v in out.items()}


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
            "overlays": "nullable-on-patch, new properties, prose limits and oneOf->anyOf; see the script",
        },
        "components": {"schemas": apply_overlays({n: strip(schemas[n]) for n in sorted(seen)})},
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(subset, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(seen)} schemas to {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
