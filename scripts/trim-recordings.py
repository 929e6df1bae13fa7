#!/usr/bin/env python3
"""Trim the Terraform provider's go-vcr cassettes (real Auth0 traffic) down to what the
simulator conformance test needs: method, path, query, request body, response status and
response body. Headers, durations and protocol details are dropped.

Usage: scripts/trim-recordings.py [SRC_DIR] [OUT_DIR]
  SRC_DIR defaults to ../shared/reference/recordings (relative to the repo root)
  OUT_DIR defaults to tests/data/recordings

The cassettes are go-vcr v3 YAML written by yaml.v3 (or hand-edited) in a fixed layout; this script parses
exactly that layout (bodies are `""`, a single-quoted scalar on one line, or a `|` block
scalar), so it needs only the Python 3 standard library.
"""
import json
import os
import sys
import urllib.parse



def unquote_single(s):
    assert s.startswith("'") and s.endswith("'"), s[:40]
    return s[1:-1].replace("''", "'")


def parse_scalar(raw):
    raw = raw.strip()
    if raw == '""' or raw == "":
        return ""
    if raw.startswith("'"):
        return unquote_single(raw)
    if raw.startswith('"'):
        return json.loads(raw)
    return raw


def parse_cassette(text):
    lines = text.split("\n")
    interactions = []
    cur = None
    section = None
    base = 0  # indent of the `- id:` line; request/response at base+2, their fields at base+4
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped.startswith("- id:"):
            base = indent
            cur = {"request": {}, "response": {}}
            interactions.append(cur)
            section = None
        elif indent == base + 2 and stripped in ("request:", "response:"):
            section = stripped[:-1]
        elif cur is not None and section and indent == base + 4 and ":" in stripped:
            key, _, rest = stripped.partition(":")
            if key in ("body", "url", "method", "code"):
                rest = rest.strip()
                if key == "body" and rest in ("|", "|-"):
                    block = []
                    i += 1
                    # block content is indented deeper than the key; take the first line's indent
                    j = i
                    while j < len(lines) and lines[j] == "":
                        j += 1
                    bi = len(lines[j]) - len(lines[j].lstrip(" ")) if j < len(lines) else 0
                    while i < len(lines) and bi > base + 4 and (lines[i].startswith(" " * bi) or lines[i] == ""):
                        block.append(lines[i][bi:])
                        i += 1
                    value = "\n".join(block)
                    if rest == "|":
                        value = value.rstrip("\n") + "\n"
                    cur[section][key] = value
                    continue
                cur[section][key] = parse_scalar(rest)
        i += 1
    return interactions


def body_value(s):
    s = s.strip()
    if not s:
        return None
    try:
        return json.loads(s)
    except ValueError:
        return s


def trim(interactions):
    out = []
    for it in interactions:
        req, resp = it["request"], it["response"]
        url = urllib.parse.urlsplit(req["url"])
        out.append({
            "method": req["method"],
            "path": url.path,
            "query": url.query or None,
            "request_body": body_value(req.get("body", "")),
            "status": int(resp["code"]),
            "response_body": body_value(resp.get("body", "")),
        })
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "..", "shared", "reference", "recordings")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo, "tests", "data", "recordings")
    os.makedirs(dst, exist_ok=True)
    total = 0
    for name in sorted(os.listdir(src)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            interactions = trim(parse_cassette(f.read()))
        # Only cassettes that exercise clients, client grants or resource servers.
        if not any(p["path"].startswith(("/api/v2/clients", "/api/v2/client-grants", "/api/v2/resource-servers"))
                   for p in interactions):
            continue
        total += len(interactions)
        doc = {"cassette": name, "source": "auth0/terraform-provider-auth0 test/data/recordings @a00b6921",
               "interactions": interactions}
        with open(os.path.join(dst, name[:-5] + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
    print(f"wrote {total} interactions to {dst}", file=sys.stderr)


if __name__ == "__main__":
    main()
