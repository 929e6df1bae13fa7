#!/usr/bin/env python3
"""Build the scope list of the simulated "Auth0 Management API" resource server.

Usage: scripts/extract-management-api-scopes.py [RECORDINGS_DIR] [SPEC] [OUT]
  RECORDINGS_DIR defaults to ../shared/reference/recordings
  SPEC           defaults to ../shared/reference/auth0-mgmt-openapi.json
  OUT            defaults to src/sim/management-api-scopes.json

Real tenants return the Management API with its whole `scopes` list (value + description).
The list starts with the scopes recorded on a real tenant, in their recorded order and with
their recorded descriptions (TestAccResourceServerAuth0APIManagementImport.yaml, 132 scopes),
followed by every other scope the official OAS declares for the Management API
(`components.securitySchemes.oAuth2ClientCredentials`, with the OAS description). A client
grant for the Management API may only carry scopes from this list (see `Store::check_grant_scopes`).
Python 3 standard library only.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
trim = __import__("trim-recordings")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ref = os.path.join(repo, "..", "shared", "reference")
    rec_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ref, "recordings")
    spec_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ref, "auth0-mgmt-openapi.json")
    out_path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(repo, "src", "sim", "management-api-scopes.json")
    name = "TestAccResourceServerAuth0APIManagementImport.yaml"
    with open(os.path.join(rec_dir, name), encoding="utf-8") as f:
        interactions = trim.trim(trim.parse_cassette(f.read()))
    recorded = interactions[0]["response_body"]["scopes"]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    oas = spec["components"]["securitySchemes"]["oAuth2ClientCredentials"]["flows"]["clientCredentials"]["scopes"]
    seen = {s["value"] for s in recorded}
    scopes = [{"value": s["value"], "description": s["description"]} for s in recorded]
    scopes += [{"value": v, "description": d} for v, d in oas.items() if v not in seen]
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(scopes, f, indent=0)
        f.write("\n")
    print(f"wrote {len(scopes)} scopes ({len(recorded)} recorded) to {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
