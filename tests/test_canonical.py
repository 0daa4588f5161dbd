"""Our canonical encoder equals the reference RFC 8785 implementation on ledger JSON."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings, strategies as st

import pytest

from ledger.evidence.canonical import (
    MAX_SAFE_INTEGER, NotLedgerJSON, canonical_json, check_ledger_json, format_money, format_time,
    is_money, parse_ledger_json, parse_time, repeats_a_name,
)

keys = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=12)
scalars = (st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
           | st.text(st.characters(exclude_categories=("Cs",)), max_size=30))
ledger_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(keys, inner, max_size=5), max_leaves=30)


@settings(max_examples=600, deadline=None)
@given(ledger_json)
def test_canonical_json_is_rfc8785(value):
    check_ledger_json(value)
    assert canonical_json(value) == rfc8785.dumps(value)
    assert parse_ledger_json(canonical_json(value)) == value


@pytest.mark.parametrize("value, where", [
    ({"price": 1.5}, "$.price"),
    ({"n": [1, 2**53]}, "$.n[1]"),
    ({"😀": 1}, "$"),
    ({1: "x"}, "$"),
    ({"d": {"e": object()}}, "$.d.e"),
])
def test_values_outside_ledger_json_are_refused_with_their_place(value, where):
    with pytest.raises(NotLedgerJSON) as caught:
        check_ledger_json(value)
    assert caught.value.path == where


@pytest.mark.parametrize("text", ['{"a":1.0}', '{"a":1e3}', '{"a":NaN}', '{"a":9007199254740993}'])
def test_parsing_refuses_floats_and_unsafe_integers(text):
    with pytest.raises(NotLedgerJSON):
        parse_ledger_json(text)


@pytest.mark.parametrize("text", ['{"a":1,"a":2}', '{"a":1, "a":1}', '[{"x":{"b":[],"b":[]}}]',
                                  '{"price":"1.00","bidder":"b","price":"9.00"}'])
def test_parsing_refuses_a_member_name_twice_in_one_object(text):
    """§2.1: a parser would pick one of the two silently (orjson the last, others the first):
    a bid could say two prices."""
    assert repeats_a_name(text)
    with pytest.raises(NotLedgerJSON, match="repeats a member name"):
        parse_ledger_json(text)


def test_the_same_name_in_different_objects_is_not_a_repeat():
    assert parse_ledger_json('{"a":{"a":1},"b":[{"a":2},{"a":3}]}')["b"][1] == {"a": 3}
    assert not repeats_a_name('{"a":{"a":1}}') and not repeats_a_name("not json")


@pytest.mark.parametrize("depth", [32, 33, 40])
def test_nesting_too_deep_is_named_as_such(depth):
    value: object = {}
    for _ in range(depth):
        value = {"a": value}
    with pytest.raises(NotLedgerJSON, match="nested deeper than 32 levels"):
        check_ledger_json(value)


def test_nesting_at_the_limit_is_ledger_json():
    value: object = 1
    for _ in range(32):
        value = [value]
    check_ledger_json(value)


def test_money_and_time_formats():
    assert format_money(83760800) == "83760800.00"
    assert format_money("167014800.00") == "167014800.00"
    assert is_money("0.50") and not is_money("1.5") and not is_money("-1.00") and not is_money("01.00")
    with pytest.raises(ValueError):
        format_money("1.005")
    t = parse_time("2025-03-03T01:00:00.000000Z")
    assert format_time(t) == "2025-03-03T01:00:00.000000Z"
    with pytest.raises(ValueError):
        parse_time("2025-03-03T01:00:00Z")
