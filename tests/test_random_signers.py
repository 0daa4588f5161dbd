"""Random sequences of actions by random signers, through the real ledger on a SQLite store
(Hypothesis, the same sequences on every run): a recorded price, score, ranking or award never
changes but through its corrective step (a re-evaluation ordered by the supervision body, a
candidate declining or disqualified); a refused action changes nothing; and the store verifies
at the end."""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import MovableClock, RawStore, World
from test_trading import cst, h
from ledger.audit.verify import StoreSource, verify
from ledger.errors import LedgerError
from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.keys import SigningKey
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from ledger.procedures.expert_draw import (
    Expert, commitment, committee_hash, draw, draw_seed, exclusions_hash, pool_hash,
    sealed_bids_digest,
)

STREAM = "project:RANDOM-1"
CORRECTING = {"project.re-evaluation-ordered/v1"}
AWARD_CORRECTING = CORRECTING | {"project.candidate-declined/v1",
                                 "project.candidate-disqualified/v1"}


ACTORS = {"tenderee": ("tenderee",), "agent": ("agent",), "operator": ("operator",),
          "supervisor": ("supervisor",), "witness": ("witness",),
          "other-tenderee": ("tenderee",), **{f"b{i}": ("bidder",) for i in range(1, 6)},
          **{f"e{i}": ("expert",) for i in range(1, 7)}}
SIGNERS = [*ACTORS, LEDGER_ACTOR]
DEADLINE = cst("2025-06-26T09:30:00")
POOL = [Expert(f"e{i}", "economic" if i == 1 else "technical") for i in range(1, 7)]
QUOTAS = {"technical": 4, "economic": 1}
SECRET = hashlib.sha256(b"random signers' draw").digest()
BIDS = {f"b{i}": h(f"sealed b{i}") for i in range(1, 5)}
HEAD = sealed_bids_digest(BIDS.values())
COMMITTEE = draw(draw_seed(SECRET, HEAD), POOL, set(), QUOTAS)
MEMBERS = [e.id for e in COMMITTEE]
PRICES = {"b1": "9000000.00", "b2": "9100000.00", "b3": "9200000.00", "b4": "9300000.00"}
MOMENTS = [cst("2025-06-02T09:00:00"), cst("2025-06-03T09:00:00"), cst("2025-06-20T10:00:00"),
           DEADLINE - timedelta(minutes=1), DEADLINE, DEADLINE + timedelta(minutes=5),
           DEADLINE + timedelta(hours=2), cst("2025-06-27T09:00:00"),
           cst("2025-07-01T09:00:00"), cst("2025-07-02T10:00:00"), cst("2025-07-10T10:00:00")]
PUBLICITY_UNTIL = cst("2025-07-01T00:00:00")  # 28, 29, 30 June after publication on the 27th

# (type, rightful signer, payload, moment index): the procedure's own order
SCRIPT = [
    ("intake", "tenderee", dict(title="随机签名（虚构）", category="construction",
                                tenderee="tenderee", agent="agent",
                                control_price="10000000.00", method="lowest-price"), 0),
    ("intake-accepted", "operator", {}, 0),
    ("announced", "agent", dict(documents_from=format_time(cst("2025-06-03T09:00:00")),
                                documents_until=format_time(cst("2025-06-10T17:00:00")),
                                bid_deadline=format_time(DEADLINE)), 1),
    ("documents-issued", "agent", dict(document_hash=h("d1"), edition=1), 1),
    ("draw-prepared", "operator", dict(secret_commitment=commitment(SECRET),
                                       pool_hash=pool_hash(POOL), exclusions_hash=exclusions_hash([]),
                                       quotas=QUOTAS), 1),
    *[("security-posted", b, dict(bidder=b, amount="100000.00", form="guarantee"), 2) for b in BIDS],
    *[("bid-submitted", b, dict(bidder=b, bid_hash=BIDS[b]), 3) for b in BIDS],
    ("submission-closed", LEDGER_ACTOR, {}, 4),
    *[("key-released", b, dict(bidder=b, key_hash=h(f"key {b}")), 5) for b in BIDS],
    *[("bid-decrypted", "operator", dict(bidder=b, ciphertext_hash=BIDS[b],
                                         plaintext_hash=h(f"plain {b}"), price=PRICES[b]), 5)
      for b in BIDS],
    ("experts-drawn", "operator", dict(committee=MEMBERS, head_hash=HEAD,
                                       committee_hash=committee_hash(COMMITTEE)), 5),
    *[("score-submitted", m, dict(bidder="b1", score=70 + i), 6) for i, m in enumerate(MEMBERS)],
    ("evaluation-reported", MEMBERS[0], dict(ranking=["b1", "b2", "b3"], report_hash=h("r")), 6),
    *[("evaluation-report-signed", m, dict(report_hash=h("r")), 6) for m in MEMBERS[1:]],
    ("candidates-published", "agent", dict(until=format_time(PUBLICITY_UNTIL)), 7),
    ("awarded", "agent", dict(winner="b1", price=PRICES["b1"]), 8),
    ("contract-signed", "tenderee", dict(winner="b1", contract_hash=h("c")), 10),
]
# what a random signer may try in between: overwrites, and the corrective steps
EXTRA = [
    ("bid-decrypted", "operator", dict(bidder="b2", ciphertext_hash=BIDS["b2"],
                                       plaintext_hash=h("other"), price="1.00"), 5),
    ("score-submitted", MEMBERS[1], dict(bidder="b1", score=1), 6),
    ("evaluation-reported", MEMBERS[0], dict(ranking=["b2", "b1"], report_hash=h("r2")), 6),
    ("awarded", "agent", dict(winner="b2", price=PRICES["b2"]), 8),
    ("re-evaluation-ordered", "supervisor", dict(text_hash=h("order")), 8),
    ("candidate-declined", "b1", dict(bidder="b1"), 9),
    ("candidate-disqualified", "agent", dict(bidder="b2", ground="违法（虚构）"), 9),
    ("bid-withdrawn", "b2", dict(bidder="b2"), 3),
    ("security-refunded", LEDGER_ACTOR, dict(bidder="b3", amount="1.00"), 10),
    ("contract-signed", "tenderee", dict(winner="b2", contract_hash=h("c2")), 10),
]
CANDIDATES = SCRIPT + EXTRA


@st.composite
def sequences(draw_) -> list[tuple[int, str, int]]:
    """The script, with a random signer trying a step before its rightful signer now and
    then, random steps (overwrites and corrections) by random signers inserted, and a step
    dropped now and then: (candidate, signer, moment)."""
    out = []
    for index, (_, signer, _, moment) in enumerate(SCRIPT):
        if draw_(st.integers(0, 9)) < 3:
            extra = draw_(st.integers(0, len(CANDIDATES) - 1))
            out.append((extra, draw_(st.sampled_from([CANDIDATES[extra][1], *SIGNERS])),
                        draw_(st.integers(0, moment))))  # never ahead of the script
        if draw_(st.integers(0, 9)) < 3:
            out.append((index, draw_(st.sampled_from(SIGNERS)), moment))
        if draw_(st.integers(0, 19)) >= 1:
            out.append((index, signer, moment))
    return out


def recorded(state) -> dict:
    return {"prices": dict(state.prices), "scores": dict(state.scores),
            "ranking": list(state.ranking), "award": (state.winner, state.award_price)}


@functools.lru_cache(maxsize=1)
def registered() -> Path:
    """A store with the actors registered, made once and copied for each sequence."""
    folder = Path(tempfile.mkdtemp(prefix="sunledger-random-signers-"))
    url = f"sqlite:{folder / 'ledger.db'}"
    clock = MovableClock(MOMENTS[0] - timedelta(days=1))
    ledger = Ledger.open(url, clock=clock, key_path=folder / "ledger.key")
    world = World(ledger, clock, RawStore(url), ActorSigner(LEDGER_ACTOR, ledger.key))
    for name, roles in ACTORS.items():
        world.register(name, roles=roles)
    ledger.checkpoint()
    ledger.close()
    return folder


def run(choices: list[tuple[int, str, int]]):
    """Take the actions on a fresh copy of the registered store, checking after each; the
    project's final state."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("ledger.db", "ledger.key"):
            shutil.copy(registered() / name, Path(tmp) / name)
        url = f"sqlite:{Path(tmp) / 'ledger.db'}"
        clock = MovableClock(MOMENTS[0] - timedelta(days=1))
        ledger = Ledger.open(url, clock=clock, key_path=Path(tmp) / "ledger.key")
        try:
            world = World(ledger, clock, RawStore(url), ActorSigner(LEDGER_ACTOR, ledger.key))
            world.actors = {name: ActorSigner(name, SigningKey.derived(b"tests", name))
                            for name in ACTORS}  # the keys conftest's World.register made
            at = MOMENTS[0]
            for candidate, signer, moment in choices:
                type_, _, payload, _ = CANDIDATES[candidate]
                type_ = f"project.{type_}/v1"
                at = max(at, MOMENTS[moment])
                clock.moment = at
                stream = ledger.stream(STREAM)
                before = stream.state.copy() if stream is not None else None
                actor = world.registrar if signer == LEDGER_ACTOR else world.actors[signer]
                try:
                    ledger.submit(world.sign(actor, STREAM, type_, payload))
                except LedgerError:
                    after = ledger.stream(STREAM)
                    assert (after.state if after else None) == before  # refused: no change
                    continue
                if before is None:
                    continue
                was, now = recorded(before), recorded(ledger.stream(STREAM).state)
                assert all(now["prices"].get(b) == p for b, p in was["prices"].items()), type_
                if type_ not in CORRECTING:
                    assert all(now["scores"].get(k) == v for k, v in was["scores"].items()), type_
                    if was["ranking"]:
                        assert now["ranking"] == was["ranking"], type_
                if was["award"][0] is not None and type_ not in AWARD_CORRECTING:
                    assert now["award"] == was["award"], type_
            ledger.checkpoint()
            report = verify(StoreSource(url), workers=1)
            assert report.intact, report.findings[:3]
            stream = ledger.stream(STREAM)
            return stream.state if stream is not None else None
        finally:
            ledger.close()


@settings(max_examples=25, deadline=None, derandomize=True)  # the same sequences every run
@given(sequences())
def test_random_signers_never_change_a_recorded_result_and_the_store_verifies(choices):
    run(choices)


def test_the_script_by_its_rightful_signers_reaches_the_contract():
    """Guard: the sequences are mutated from a script that goes all the way."""
    state = run([(i, signer, moment) for i, (_, signer, _, moment) in enumerate(SCRIPT)])
    assert state.stage == "contracted" and state.winner == "b1"
