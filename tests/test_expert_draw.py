"""The expert draw replays to the same committee from its disclosed inputs alone, and any
changed input changes the outcome or is caught by its recorded hash."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.procedures.expert_draw import (
    DrawRecord, DrawShortfall, Expert, commitment, committee_hash, draw, draw_seed,
    exclusions_hash, pool_hash, replacement, replay_draw,
)

# a cross-region pool (跨省远程异地评标): experts of two cities, fictional ids
POOL = [Expert(f"zz-tech-{i:02}", "technical") for i in range(12)] + \
       [Expert(f"fz-tech-{i:02}", "technical") for i in range(8)] + \
       [Expert(f"zz-econ-{i:02}", "economic") for i in range(6)]
QUOTAS = {"technical": 4, "economic": 1}
SECRET = b"operator secret for the fictional draw"
HEAD = hashlib.sha256(b"project head at the draw").hexdigest()


def recorded(excluded=("zz-tech-03",)) -> DrawRecord:
    committee = draw(draw_seed(SECRET, HEAD), POOL, set(excluded), QUOTAS)
    return DrawRecord(commitment(SECRET), pool_hash(POOL), exclusions_hash(list(excluded)),
                      QUOTAS, HEAD, committee_hash(committee))


def test_a_replay_recomputes_the_same_committee():
    record = recorded()
    committee = replay_draw(record, SECRET, POOL, ["zz-tech-03"])
    assert len(committee) == 5 and "zz-tech-03" not in {e.id for e in committee}
    assert [e.category for e in committee].count("economic") == 1
    assert committee == replay_draw(record, SECRET, list(reversed(POOL)), ["zz-tech-03"])


@pytest.mark.parametrize("change, message", [
    (dict(secret=b"another secret"), "secret"),
    (dict(pool=POOL[:-1]), "pool"),
    (dict(excluded=["zz-tech-04"]), "exclusions"),
])
def test_every_disclosed_input_is_checked_against_its_record(change, message):
    inputs = dict(secret=SECRET, pool=POOL, excluded=["zz-tech-03"]) | change
    with pytest.raises(ValueError, match=message):
        replay_draw(recorded(), **inputs)


def test_a_different_head_or_a_recorded_committee_that_was_swapped_is_caught():
    record = recorded()
    other_head = DrawRecord(record.secret_commitment, record.pool_hash, record.exclusions_hash,
                            QUOTAS, hashlib.sha256(b"another head").hexdigest(),
                            record.committee_hash)
    with pytest.raises(ValueError, match="committee"):
        replay_draw(other_head, SECRET, POOL, ["zz-tech-03"])


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=32))
def test_the_same_seed_always_draws_the_same_committee(secret):
    seed = draw_seed(secret, HEAD)
    assert draw(seed, POOL, set(), QUOTAS) == draw(seed, list(reversed(POOL)), set(), QUOTAS)


def test_different_seeds_spread_over_the_pool():
    """No expert is favoured: over 400 seeds every technical expert is drawn, each about
    4/20 of the time (between 10% and 30% here), and the committees differ."""
    counts: dict[str, int] = {}
    committees = set()
    for n in range(400):
        committee = draw(draw_seed(n.to_bytes(4, "big"), HEAD), POOL, set(), QUOTAS)
        committees.add(committee_hash(committee))
        for expert in committee:
            counts[expert.id] = counts.get(expert.id, 0) + 1
    technical = [counts.get(e.id, 0) for e in POOL if e.category == "technical"]
    assert all(40 <= c <= 120 for c in technical), technical
    assert len(committees) > 390


def test_a_recused_member_is_replaced_by_the_next_ranked_of_the_same_category():
    seed = draw_seed(SECRET, HEAD)
    committee = draw(seed, POOL, set(), QUOTAS)
    leaving = committee[0]
    new = replacement(seed, POOL, set(), committee, leaving.id)
    assert new.category == leaving.category and new not in committee
    # deterministic: a replay names the same replacement
    assert replacement(seed, POOL, set(), committee, leaving.id) == new


def test_a_pool_too_small_for_the_quota_is_a_shortfall():
    with pytest.raises(DrawShortfall, match="economic"):
        draw(draw_seed(SECRET, HEAD), POOL, {e.id for e in POOL if e.category == "economic"},
             QUOTAS)
