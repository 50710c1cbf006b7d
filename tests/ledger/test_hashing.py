"""The canonical JSON every body digest is computed over: its bytes never change, whatever builds them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from ledger.hashing import _json, canonical_json

# What entries carry: metadata of strings, integers, booleans, None, lists and objects, keys in any order.
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20)


@given(VALUES)
def test_canonical_json_is_the_documented_json_dumps(value):
    # the documented definition (sorted keys, no whitespace, UTF-8 unescaped), which digests stored
    # before the shared encoder were computed with
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_json(value) == expected


def test_canonical_json_of_an_entrys_kind_of_document():
    document = {"memo": "算力券 核销", "metadata": {"z": 1, "a": [True, None]}, "actor": None}
    assert canonical_json(document) == '{"actor":null,"memo":"算力券 核销","metadata":{"a":[true,null],"z":1}}'.encode()


@given(VALUES)
def test_each_value_of_a_document_is_its_canonical_json(value):
    assert _json(value) == canonical_json(value).decode()
