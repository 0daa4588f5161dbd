"""The expert draw (专家抽取): random, and verifiably so, from records anyone can replay.

Before the draw the operator commits to a secret (its SHA-256 is recorded), and the pool and
the exclusions are recorded by hash, so none of them can be changed once bids are known. At
the draw the seed is derived from the secret and the sealed bids, which the operator could not
choose:

    seed      = SHA-256("sunledger/expert-draw/v1" ‖ 0x00 ‖ secret ‖ bids digest)
    bids digest = SHA-256(JCS(the sealed bids' commitments, sorted))
    rank(e)   = SHA-256(seed ‖ UTF-8 expert id)           (lower ranks are drawn first)
    committee = per category, the `quota` lowest-ranked experts of that category in the pool
                who are not excluded
    a recusal is replaced by the next-ranked expert of the same category not yet drawn

Names stay confidential until the award; then the pool, the exclusions and the secret are
disclosed and anyone recomputes the committee (`replay_draw`). Pure code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ledger.evidence.canonical import canonical_json

DRAW_DOMAIN = b"sunledger/expert-draw/v1\x00"


@dataclass(frozen=True)
class Expert:
    id: str
    category: str  # e.g. "technical", "economic"; a quota is per category

    def to_json(self) -> dict:
        return {"category": self.category, "id": self.id}


def commitment(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def pool_hash(pool: list[Expert]) -> str:
    """SHA-256 of JCS of the pool sorted by id: the same pool always hashes the same."""
    return hashlib.sha256(canonical_json(sorted((e.to_json() for e in pool),
                                                key=lambda e: e["id"]))).hexdigest()


def exclusions_hash(excluded: list[str]) -> str:
    return hashlib.sha256(canonical_json(sorted(set(excluded)))).hexdigest()


def sealed_bids_digest(commitments) -> str:
    """The draw's public input: SHA-256 of JCS of the sealed bids' commitments, sorted. Fixed
    at the deadline, unknown when the secret was committed, chosen by no single party."""
    return hashlib.sha256(canonical_json(sorted(commitments))).hexdigest()


def draw_seed(secret: bytes, head_hash: str) -> bytes:
    return hashlib.sha256(DRAW_DOMAIN + secret + bytes.fromhex(head_hash)).digest()


def _rank(seed: bytes, expert: Expert) -> bytes:
    return hashlib.sha256(seed + expert.id.encode("utf-8")).digest()


class DrawShortfall(ValueError):
    """The pool has too few eligible experts of a category for its quota."""


def draw(seed: bytes, pool: list[Expert], excluded: set[str],
         quotas: dict[str, int]) -> list[Expert]:
    """The committee: per category in `quotas`, its lowest-ranked eligible experts."""
    committee: list[Expert] = []
    for category, quota in sorted(quotas.items()):
        ranked = sorted((e for e in pool if e.category == category and e.id not in excluded),
                        key=lambda e: _rank(seed, e))
        if len(ranked) < quota:
            raise DrawShortfall(f"the pool has {len(ranked)} eligible {category} experts; "
                                f"{quota} are needed")
        committee.extend(ranked[:quota])
    return committee


def replacement(seed: bytes, pool: list[Expert], excluded: set[str],
                committee: list[Expert], recused: str) -> Expert:
    """Who replaces a recused member: the next-ranked eligible expert of the same category
    who was never on the committee."""
    leaving = next(e for e in committee if e.id == recused)
    used = {e.id for e in committee}
    for expert in sorted((e for e in pool if e.category == leaving.category), key=lambda e: _rank(seed, e)):
        if expert.id not in excluded and expert.id not in used:
            return expert
    raise DrawShortfall(f"no {leaving.category} expert is left to replace {recused}")


def committee_hash(committee: list[Expert]) -> str:
    """SHA-256 of JCS of the members in the order drawn (recorded while names are secret)."""
    return hashlib.sha256(canonical_json([e.to_json() for e in committee])).hexdigest()


@dataclass(frozen=True)
class DrawRecord:
    """What the ledger records of one draw (names only as hashes until disclosed)."""

    secret_commitment: str
    pool_hash: str
    exclusions_hash: str
    quotas: dict[str, int]
    head_hash: str  # the bids digest the draw's seed was derived from
    committee_hash: str


def replay_draw(record: DrawRecord, secret: bytes, pool: list[Expert],
                excluded: list[str]) -> list[Expert]:
    """Recompute a draw from what was disclosed; raise ValueError naming the first input
    that does not match its record."""
    if commitment(secret) != record.secret_commitment:
        raise ValueError("the disclosed secret is not the one committed before the draw")
    if pool_hash(pool) != record.pool_hash:
        raise ValueError("the disclosed pool is not the pool recorded before the draw")
    if exclusions_hash(excluded) != record.exclusions_hash:
        raise ValueError("the disclosed exclusions are not the ones recorded before the draw")
    committee = draw(draw_seed(secret, record.head_hash), pool, set(excluded), record.quotas)
    if committee_hash(committee) != record.committee_hash:
        raise ValueError("the recorded committee is not the one these inputs draw")
    return committee
