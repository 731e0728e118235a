#!/usr/bin/env python3
"""Run the scim2-tester compliance checks against a SCIM 2.0 server.

    scim_check.py [BASE_URL] [TOKEN] [--exclude-tags patch,...] [--require User,Group]
    SCIM_URL=http://127.0.0.1:PORT/scim/v2 SCIM_TOKEN=secret scim_check.py

Prints one line per check result (status, [resource type], check, reason; plus the
check summary and debug data for failures), then counts. Exit 0 if no ERROR/CRITICAL,
1 otherwise, 2 on usage error. Needs scim2-tester + scim2-client[httpx2] (scim2-client
>= 0.13 speaks HTTP through `httpx2`, not `httpx`); versions pinned in requirements.txt.
"""
import argparse
import json
import os
import sys
from collections import Counter
from typing import Any

import httpx2
from pydantic import BaseModel
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server, get_all_available_tags

FAILING = {Status.ERROR, Status.CRITICAL}


def _jsonable(obj: Any) -> Any:
    """Make the `data` of a CheckResult printable as JSON."""
    if isinstance(obj, BaseModel):
        try:
            return obj.model_dump(mode="json", exclude_none=True, by_alias=True)
        except Exception:
            return repr(obj)
    if isinstance(obj, httpx2.Response):
        try:
            body: Any = obj.json()
        except Exception:
            body = obj.text
        return {"request": f"{obj.request.method} {obj.request.url}", "status": obj.status_code,
                "content-type": obj.headers.get("content-type"), "body": body}
    if isinstance(obj, BaseException):
        text = f"{type(obj).__name__}: {obj}"
        for note in getattr(obj, "__notes__", None) or []:
            text += f" | {note}"
        if obj.__cause__ is not None:
            text += f" (caused by {type(obj.__cause__).__name__}: {obj.__cause__})"
        return text
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return repr(obj)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def format_result(r: CheckResult, max_data: int, verbose: bool) -> str:
    scope = f"[{r.resource_type}] " if r.resource_type else ""
    line = f"{r.status.name:<10} {scope}{r.title or '?'}"
    if r.reason:
        line += f" -- {_one_line(r.reason)}"
    if (verbose or r.status in FAILING | {Status.SKIPPED}) and r.description:
        line += "\n           check: " + _one_line(r.description.strip().split("\n\n")[0])
    if r.data is not None and (verbose or r.status in FAILING | {Status.DEVIATION}):
        data = json.dumps(_jsonable(r.data), default=repr, ensure_ascii=False)
        if max_data and len(data) > max_data:
            data = data[:max_data] + f"... [{len(data) - max_data} more chars]"
        line += f"\n           data: {data}"
    return line


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _tag_matches(tag: str, filters: set[str]) -> bool:
    """scim2-tester's hierarchical matching: filter 'crud' matches tag 'crud:read'."""
    return any(f == tag or (":" in tag and f in tag.split(":")) for f in filters)


def _effective_include(include: str | None, exclude: str | None) -> set[str] | None:
    """Fold --include-tags/--exclude-tags into one include_tags set.

    scim2-tester 0.5.2 tags the discovery queries (ServiceProviderConfig, ResourceTypes,
    Schemas) with "*", and "*" matches ANY exclude_tags filter: passing exclude_tags
    skips discovery and hence every resource check. include_tags always lets "*" run,
    so exclusion is applied here on the registered tags. A check carrying an excluded
    and a kept tag (e.g. "discovery" + "schemas") still runs.
    """
    inc, exc = set(_csv(include)), set(_csv(exclude))
    if not inc and not exc:
        return None
    tags = set(get_all_available_tags())
    if inc:
        tags = {t for t in tags if _tag_matches(t, inc)} | (inc - tags)
    return {t for t in tags if not _tag_matches(t, exc)} or {"none-selected"}


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(description="Run scim2-tester against a SCIM server.")
    p.add_argument("url", nargs="?", default=env("SCIM_URL"), help="SCIM base URL (env SCIM_URL)")
    p.add_argument("token", nargs="?", default=env("SCIM_TOKEN"), help="bearer token (env SCIM_TOKEN)")
    p.add_argument("--include-tags", default=env("SCIM_INCLUDE_TAGS"),
                   help="comma-separated tags to run (default all): discovery, misc, crud, "
                        "crud:create|read|read:attributes|update|delete, patch, patch:add|remove|replace")
    p.add_argument("--exclude-tags", default=env("SCIM_EXCLUDE_TAGS"),
                   help="comma-separated tags to skip; discovery queries always run")
    p.add_argument("--resource-types", default=env("SCIM_RESOURCE_TYPES"),
                   help="comma-separated resource type names to test (default: all published)")
    p.add_argument("--require", default=env("SCIM_REQUIRE_RESOURCE_TYPES"),
                   help="resource types (e.g. User,Group) that must have been exercised, else exit 1")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--max-data", type=int, default=4000, help="truncate data (0 = no limit)")
    p.add_argument("-v", "--verbose", action="store_true", help="details for every result")
    args = p.parse_args(argv)
    if not args.url:
        p.error("a base URL is required (argument or SCIM_URL)")

    headers = {"Accept": "application/scim+json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    http = httpx2.Client(base_url=args.url, headers=headers, timeout=args.timeout)
    # No provider and no client.discover(): check_server queries the three discovery
    # endpoints itself and builds the resource models from the server's /Schemas and
    # /ResourceTypes (ScimProvider.from_discovery), registering them on the client.
    client = SyncSCIMClient(http)
    try:
        results = check_server(
            client,
            raise_exceptions=False,
            include_tags=_effective_include(args.include_tags, args.exclude_tags),
            exclude_tags=None,
            resource_types=_csv(args.resource_types) or None,
        )
    finally:
        http.close()

    for r in results:
        print(format_result(r, args.max_data, args.verbose), flush=True)
    counts = Counter(r.status for r in results)
    tested = sorted({r.resource_type for r in results if r.resource_type})
    print(f"\nresource types exercised: {', '.join(tested) or 'none'}")
    print("summary: " + ", ".join(f"{s.name}={counts[s]}" for s in Status) + f", total={len(results)}")
    failed = any(r.status in FAILING for r in results) or not results
    missing = [n for n in _csv(args.require) if n not in tested]
    if missing:
        print("required resource types not exercised: " + ", ".join(missing))
        failed = True
    print("RESULT: " + ("FAIL" if failed else "PASS"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
