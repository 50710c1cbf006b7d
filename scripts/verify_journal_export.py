#!/usr/bin/env python3
"""Verify a journal export offline, without trusting the service that made it. Python standard library only.

    python3 scripts/verify_journal_export.py journal.jsonl --pin 1234:9f86d08…

The export is the JSON Lines form of the journal report (``GET /api/v1/reports/journal/export/?file_format=jsonl``).
The pin is a chain head (``HEIGHT:HASH``) the auditor recorded earlier from somewhere they trust: a clean
``verify_ledger`` run, ``GET /api/v1/reports/chain-head/`` on an earlier day, a signed statement. This script:

1. checks the trailer: the number of lines and the SHA-256 of every byte before it (any changed byte fails);
2. checks every line is canonical JSON (sorted keys, no spaces, UTF-8), as the service writes it;
3. recomputes every entry's body digest from its fields and postings, checks each entry's postings balance, and
   that the digest is the one its chain link names;
4. recomputes every link, ``SHA-256("<prev_hash>:<position>:<body digest>")``, and checks each link's
   ``prev_hash`` is the hash of the link before it, positions without gaps, up to the head the header names;
5. checks the pinned head: the link at the pinned height is in the export and has the pinned hash.

An entry that was altered, added or removed changes its digest, its link or every link after it, and so the head
the pin vouches for. Exit status 0 when everything holds, 1 (with one line per problem) otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

FORMAT = "voucher_service.journal/1"
GENESIS_HASH = "0" * 64
ENTRY_FIELDS = (
    "actor",
    "currency",
    "effective_at",
    "idempotency_key",
    "memo",
    "metadata",
    "recorded_at",
    "request_fingerprint",
    "reverses",
)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def entry_digest(entry: dict[str, Any]) -> str:
    """The body digest the ledger stored: SHA-256 of the canonical JSON of the entry's fields and its postings
    as sorted [account, direction, amount, account_version, balance_after, recorded_at] lists."""
    document = {name: entry[name] for name in ENTRY_FIELDS}
    document["postings"] = sorted(
        [p["account"], p["direction"], p["amount"], p["account_version"], p["balance_after"], p["recorded_at"]]
        for p in entry["postings"]
    )
    return sha256_hex(canonical(document))


def link_hash(prev_hash: str, position: int, body_digest: str) -> str:
    return sha256_hex(f"{prev_hash}:{position}:{body_digest}".encode("ascii"))


class Verification:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.entries = 0
        self.links = 0
        self.head: tuple[int, str] | None = None

    def fail(self, message: str) -> None:
        self.problems.append(message)

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse_lines(data: bytes, result: Verification) -> list[dict[str, Any]] | None:
    if not data.endswith(b"\n"):
        result.fail("the export does not end with a newline: it is truncated or was changed")
        return None
    raw_lines = data[:-1].split(b"\n")
    records = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            result.fail(f"line {number} is not valid UTF-8 JSON ({exc})")
            return None
        if not isinstance(record, dict) or canonical(record) != raw:
            result.fail(f"line {number} is not in the canonical form the service writes: it was changed")
            return None
        records.append(record)
    trailer = records[-1] if records else {}
    body = data[: len(data) - len(raw_lines[-1]) - 1]
    if trailer.get("type") != "trailer" or trailer.get("lines") != len(records) - 1:
        result.fail("the last line is not a trailer counting the lines before it: the export is truncated")
        return None
    if trailer.get("sha256") != sha256_hex(body):
        result.fail("the SHA-256 of the export does not match its trailer: a byte was changed")
        return None
    return records[:-1]


def _check_entry(record: dict[str, Any], result: Verification) -> str | None:
    try:
        recomputed = entry_digest(record)
        total = sum(p["amount"] if p["direction"] == "credit" else -p["amount"] for p in record["postings"])
    except (KeyError, TypeError) as exc:
        result.fail(f"entry #{record.get('id')}: a field is missing or malformed ({exc})")
        return None
    if total != 0 or len(record["postings"]) < 2:
        result.fail(f"entry #{record['id']}: its postings do not balance (credits − debits = {total})")
    if recomputed != record.get("body_digest"):
        result.fail(f"entry #{record['id']}: its fields recompute to digest {recomputed[:16]}…, not the one stored")
    return recomputed


def verify(data: bytes, pin: tuple[int, str] | None = None) -> Verification:
    result = Verification()
    records = _parse_lines(data, result)
    if records is None:
        return result
    if not records or records[0].get("type") != "header" or records[0].get("format") != FORMAT:
        result.fail(f"the first line is not a {FORMAT} header")
        return result
    header = records[0]
    head = header.get("head") or {}
    pending: dict[int, str] = {}  # entry id -> recomputed digest, waiting for its link
    previous: tuple[int, str] | None = None
    hashes: dict[int, str] = {}
    for record in records[1:]:
        kind = record.get("type")
        if kind == "entry":
            result.entries += 1
            digest = _check_entry(record, result)
            if digest is not None:
                pending[record["id"]] = digest
        elif kind == "link":
            result.links += 1
            previous = _check_link(record, previous, pending, result)
            if previous is not None:
                hashes[previous[0]] = previous[1]
        else:
            result.fail(f"an unexpected line of type {kind!r}")
    for entry_id in sorted(pending):
        result.fail(f"entry #{entry_id} has no chain link in the export")
    _check_head(header, head, previous, result)
    if pin is not None:
        _check_pin(pin, hashes, header, result)
    result.head = previous
    return result


def _check_link(
    record: dict[str, Any], previous: tuple[int, str] | None, pending: dict[int, str], result: Verification
) -> tuple[int, str] | None:
    try:
        position, prev_hash, stored, body_digest = (
            int(record["position"]),
            str(record["prev_hash"]),
            str(record["hash"]),
            str(record["body_digest"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        result.fail(f"a link line is malformed ({exc})")
        return previous
    if previous is not None and position != previous[0] + 1:
        result.fail(f"link positions jump from #{previous[0]} to #{position}")
    if previous is not None and prev_hash != previous[1]:
        result.fail(f"link #{position}: prev_hash is not the hash of link #{previous[0]}")
    if previous is None and position == 1 and prev_hash != GENESIS_HASH:
        result.fail("link #1 does not start from the genesis hash")
    entry_id = record.get("entry")
    if entry_id in pending and pending.pop(entry_id) != body_digest:
        result.fail(f"link #{position}: entry #{entry_id}'s recomputed digest is not the digest the chain holds")
    if link_hash(prev_hash, position, body_digest) != stored:
        result.fail(f"link #{position}: its hash does not recompute")
    return position, stored


def _check_head(
    header: dict[str, Any], head: dict[str, Any], last: tuple[int, str] | None, result: Verification
) -> None:
    if not head.get("height"):
        if last is not None:
            result.fail("the header names an empty chain, but the export has links")
        return
    if last is None or (last[0], last[1]) != (head.get("height"), head.get("hash")):
        result.fail(f"the chain ends at {last}, not at the head the header names ({head.get('height')})")
    if header.get("chain_from") and result.links and last is not None:
        expected = last[0] - header["chain_from"] + 1
        if expected != result.links:
            result.fail(f"the header says the links start at #{header['chain_from']}, but there are {result.links}")


def _check_pin(pin: tuple[int, str], hashes: dict[int, str], header: dict[str, Any], result: Verification) -> None:
    height, expected = pin
    if height == 0:
        return
    if height not in hashes:
        first = header.get("chain_from")
        result.fail(
            f"the pinned head #{height} is not in this export (its links run from #{first} to "
            f"#{(header.get('head') or {}).get('height')}): export with chain_from={height} or later"
        )
    elif hashes[height] != expected:
        result.fail(f"link #{height} has hash {hashes[height][:16]}…, not the pinned {expected[:16]}…")


def parse_pin(text: str) -> tuple[int, str]:
    height, _, value = text.strip().partition(":")
    if not height.isdigit() or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise argparse.ArgumentTypeError(f"not a chain head pin (<height>:<64 hex digits>): {text!r}")
    return int(height), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a voucher_service journal export (JSON Lines) offline.")
    parser.add_argument("export", help="the journal export (.jsonl)")
    parser.add_argument("--pin", type=parse_pin, help="a chain head you trust, HEIGHT:HASH")
    arguments = parser.parse_args(argv)
    with open(arguments.export, "rb") as handle:
        result = verify(handle.read(), arguments.pin)
    for problem in result.problems:
        print(f"FAIL: {problem}")
    if result.ok:
        head = f"#{result.head[0]} {result.head[1]}" if result.head else "empty"
        pinned = (
            f", pinned head #{arguments.pin[0]} matches" if arguments.pin else " (no pin given: nothing anchors it)"
        )
        print(f"OK: {result.entries} entries and {result.links} links recompute; chain head {head}{pinned}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
