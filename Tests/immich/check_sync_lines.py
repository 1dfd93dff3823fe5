#!/usr/bin/env python3
"""Checks a Hearth sync stream (JSON lines from POST /api/sync/stream) against Immich's own
models: every line's data must validate as immichpy's generated pydantic model of its type
(SyncAssetV2 for "AssetV2", ...) with exactly that model's fields, its ack must be
"<type>|<updateId>" with a UUID updateId, and the stream must end with SyncCompleteV1.

Usage: check_sync_lines.py FILE...   (one stream per file; prints a summary, exits 1 on the first error)
Needs immichpy (pinned to 9.2.4, the client generated from Immich 3.3.5's OpenAPI document).
"""
import json
import sys
import uuid

from immichpy.client.generated import models

EMPTY_DATA = {"SyncAckV1", "SyncResetV1", "SyncCompleteV1"}


def fail(path, n, msg):
    print(f"{path}:{n}: {msg}", file=sys.stderr)
    sys.exit(1)


def check(path):
    counts = {}
    last = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        fail(path, len(lines), "the stream does not end with a newline")
    for n, text in enumerate(lines, 1):
        try:
            line = json.loads(text)
        except ValueError as e:
            fail(path, n, f"not JSON: {e}")
        if not isinstance(line, dict) or set(line) != {"type", "data", "ack"}:
            fail(path, n, f"a line is exactly {{type, data, ack}}: {text[:200]}")
        t, data, ack = line["type"], line["data"], line["ack"]
        if t not in {e.value for e in models.SyncEntityType}:
            fail(path, n, f"unknown entity type {t!r}")
        parts = ack.split("|")
        if parts[0] != t or len(parts) not in (2, 3):
            fail(path, n, f"ack {ack!r} is not {t}|updateId")
        if t != "SyncResetV1":
            try:
                uuid.UUID(parts[1])
            except ValueError:
                fail(path, n, f"ack {ack!r}: updateId is not a UUID")
        if t in EMPTY_DATA:
            if data != {}:
                fail(path, n, f"{t} carries no data: {data}")
        else:
            model = getattr(models, "Sync" + t, None)
            if model is None:
                fail(path, n, f"immichpy has no model Sync{t}")
            try:
                model.model_validate(data)
            except Exception as e:  # pydantic.ValidationError
                fail(path, n, f"{t} does not validate as Sync{t}: {e}\n  data: {json.dumps(data)[:400]}")
            expected = {fi.alias or name for name, fi in model.model_fields.items()}
            required = {fi.alias or name for name, fi in model.model_fields.items() if fi.is_required()}
            keys = set(data)
            if not required <= keys or not keys <= expected:
                fail(path, n, f"{t}: missing {sorted(required - keys)}, unknown {sorted(keys - expected)}")
        counts[t] = counts.get(t, 0) + 1
        last = t
    if last != "SyncCompleteV1":
        fail(path, len(lines), f"the stream ends with {last}, not SyncCompleteV1")
    print(f"{path}: {len(lines)} lines valid: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for p in sys.argv[1:]:
        check(p)
