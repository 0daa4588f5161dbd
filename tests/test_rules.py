"""The one table of periods and limits (ledger/procedures/rules.py)."""

from __future__ import annotations


def test_every_rule_has_an_article_and_a_value_and_ids_are_unique():
    from ledger.procedures.rules import _RULES, RuleBook

    book = RuleBook.national()
    assert len(book.rules) == len(_RULES) >= 30
    for rule in book.rules.values():
        assert rule.article and rule.text and rule.value is not None
    assert book["preparation-time"].value == 20 and book["complaint-acceptance"].unit == "working_days"
    local = book.adjusted("contract", 20, "某省实施办法 §12")
    assert local["contract"].value == 20 and local["contract"].article == "某省实施办法 §12"
    assert book["contract"].value == 30  # the national book is unchanged
