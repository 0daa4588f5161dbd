"""The load generator: realistic project streams driven through `Ledger.submit`, the same
public append path a client takes. Every actor has its own key; the same seed gives the same
actions (payloads, nonces, signing times, order). Names are invented and obviously fictional.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable, Iterator

from .canonical import format_money
from .client import ActorSigner
from .envelope import LEDGER_ACTOR, actor_stream, project_stream
from .keys import SigningKey, encode_public_key
from .ledger import Ledger

EPOCH = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)  # a Monday, 09:00 Beijing time

CATEGORIES = [
    # category, control price range in yuan, a title pattern
    ("construction", (2_000_000, 180_000_000), "虚构市{n}号棚户区改造工程（第{s}标段）"),
    ("construction", (500_000, 30_000_000), "虚构县{n}号道路桥梁检测工程"),
    ("procurement", (100_000, 8_000_000), "虚构市{n}号医院低值医用耗材集中采购"),
    ("rights", (1_000_000, 900_000_000), "虚构森林公园{n}号生态旅游特许经营权"),
]


@dataclass
class SimulationResult:
    seed: int
    projects: int = 0
    actions: int = 0
    actors: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


class Simulation:
    def __init__(self, seed: int, projects: int):
        self.seed = seed
        self.projects = projects
        self.rng = random.Random(seed)
        self.secret = f"sunledger-simulation/{seed}".encode()
        self.prefix = f"sim{seed}"
        self.versions: dict[str, int] = {}
        self.clock = EPOCH

    # actors: fictional, one key each, derived from the seed
    def _signer(self, actor: str) -> ActorSigner:
        return ActorSigner(actor, SigningKey.derived(self.secret, actor), self.rng)

    def cast(self) -> dict[str, list[ActorSigner]]:
        n = self.projects
        counts = {"tenderee": max(2, n // 4), "agent": 3, "bidder": max(12, n // 2),
                  "expert": max(15, n // 5), "operator": 1}
        return {role: [self._signer(f"{self.prefix}-{role}-{i:04d}") for i in range(count)]
                for role, count in counts.items()}

    def _tick(self, minutes: float) -> datetime:
        self.clock += timedelta(minutes=minutes * (0.5 + self.rng.random()))
        return self.clock

    def _action(self, signer: ActorSigner, stream: str, type_: str, payload: dict):
        version = self.versions.get(stream, 0)
        self.versions[stream] = version + 1
        return signer.sign(stream, type_, payload, expected_version=version,
                           signed_at=self._tick(3))

    def registrations(self, cast: dict[str, list[ActorSigner]], registrar: ActorSigner) -> Iterator:
        for role, signers in cast.items():
            for i, s in enumerate(signers, 1):
                org = f"虚构{ {'tenderee': '招标人', 'agent': '招标代理', 'bidder': '建设', 'expert': '评标专家库', 'operator': '交易中心'}[role]}{i}号单位"
                yield self._action(registrar, actor_stream(s.actor), "actor.registered/v1",
                                   {"name": f"Fictional {role} {i}", "roles": [role],
                                    "organisation": org})
                yield self._action(registrar, actor_stream(s.actor), "actor.key-added/v1",
                                   {"key_id": s.key.key_id,
                                    "public_key": encode_public_key(s.key.public_key)})

    def project(self, number: int, cast: dict[str, list[ActorSigner]]) -> Iterator[Callable]:
        """One project's actions, as thunks (signed when submitted, in submission order)."""
        rng = self.rng
        category, (low, high), pattern = rng.choice(CATEGORIES)
        stream = project_stream(f"{self.prefix}-{number:05d}")
        tenderee, agent = rng.choice(cast["tenderee"]), rng.choice(cast["agent"])
        control = Decimal(rng.randrange(low, high)).quantize(Decimal("1"))
        bidders = rng.sample(cast["bidder"], rng.randint(3, min(9, len(cast["bidder"]))))
        obtainers = bidders + rng.sample([b for b in cast["bidder"] if b not in bidders],
                                         rng.randint(0, 3))
        experts = rng.sample(cast["expert"], 5)
        doc = _digest(stream, "documents", 1)
        act = self._action

        yield lambda: act(tenderee, stream, "project.intake/v1", {
            "title": pattern.format(n=number, s=rng.randint(1, 3)), "category": category,
            "tenderee": tenderee.actor, "agent": agent.actor,
            "control_price": format_money(control)})
        yield lambda: act(agent, stream, "project.announced/v1", {
            "bid_deadline": (self.clock + timedelta(days=21)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")})
        yield lambda: act(agent, stream, "project.documents-issued/v1",
                          {"document_hash": doc, "edition": 1})
        for b in obtainers:
            yield lambda b=b: act(b, stream, "project.documents-obtained/v1",
                                  {"bidder": b.actor, "document_hash": doc})
        prices = {}
        for b in bidders:
            prices[b.actor] = (control * Decimal(rng.uniform(0.5, 0.98))).quantize(Decimal("0.01"))
            yield lambda b=b: act(b, stream, "project.security-posted/v1", {
                "bidder": b.actor, "amount": format_money((control * Decimal("0.02")).quantize(Decimal("0.01"))),
                "form": "electronic-guarantee"})
            yield lambda b=b: act(b, stream, "project.bid-submitted/v1", {
                "bidder": b.actor, "bid_hash": _digest(stream, b.actor, "sealed bid")})
        yield lambda: act(agent, stream, "project.opened/v1", {"bidders": [b.actor for b in bidders]})
        for b in bidders:
            yield lambda b=b: act(b, stream, "project.bid-decrypted/v1", {
                "bidder": b.actor, "price": format_money(prices[b.actor]),
                "plaintext_hash": _digest(stream, b.actor, "bid plaintext")})
        yield lambda: act(agent, stream, "project.experts-drawn/v1", {
            "seed_commitment": _digest(stream, "draw seed"),
            "committee_hash": _digest(stream, *[e.actor for e in experts]), "size": len(experts)})
        for e in experts:
            for b in bidders:
                yield lambda e=e, b=b: act(e, stream, "project.score-submitted/v1", {
                    "expert": e.actor, "bidder": b.actor, "score": rng.randint(60, 100)})
        ranking = sorted(prices, key=prices.get)[:3]
        yield lambda: act(agent, stream, "project.evaluation-reported/v1",
                          {"ranking": ranking, "report_hash": _digest(stream, "report")})
        winner = ranking[0]
        yield lambda: act(tenderee, stream, "project.awarded/v1",
                          {"winner": winner, "price": format_money(prices[winner])})
        yield lambda: act(tenderee, stream, "project.contract-signed/v1",
                          {"winner": winner, "contract_hash": _digest(stream, "contract")})
        operator = cast["operator"][0]
        for b in bidders:
            yield lambda b=b: act(operator, stream, "project.security-refunded/v1", {
                "bidder": b.actor,
                "amount": format_money((control * Decimal("0.02")).quantize(Decimal("0.01")))})

    def actions(self, registrar: ActorSigner) -> Iterator:
        """All signed actions in submission order: registrations, then interleaved projects."""
        cast = self.cast()
        yield from self.registrations(cast, registrar)
        running = [self.project(n, cast) for n in range(1, self.projects + 1)]
        while running:
            i = self.rng.randrange(len(running)) if len(running) > 1 else 0
            thunk = next(running[i], None)
            if thunk is None:
                running.pop(i)
            else:
                yield thunk()


def simulate(ledger: Ledger, *, projects: int, seed: int = 0, batch: int = 1,
             on_progress: Callable[[int], None] | None = None) -> SimulationResult:
    """Drive `projects` fictional projects through `ledger.submit`, `batch` actions per call."""
    sim = Simulation(seed, projects)
    registrar = ActorSigner(LEDGER_ACTOR, ledger.key, sim.rng)
    first = f"actor:{sim.prefix}-operator-0000"
    if ledger.stream_version(first):
        from .errors import MalformedAction

        raise MalformedAction(f"this store already holds the simulation with seed {seed}; "
                              "use another --seed or another store")
    result = SimulationResult(seed=seed, projects=projects)
    pending = []
    for signed in sim.actions(registrar):
        pending.append(signed)
        t = signed.action.type
        result.by_type[t] = result.by_type.get(t, 0) + 1
        if len(pending) >= batch:
            ledger.submit(*pending)
            result.actions += len(pending)
            if on_progress:
                on_progress(len(pending))
            pending = []
    if pending:
        ledger.submit(*pending)
        result.actions += len(pending)
        if on_progress:
            on_progress(len(pending))
    result.actors = result.by_type.get("actor.registered/v1", 0)
    return result
