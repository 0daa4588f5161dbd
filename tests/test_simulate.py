"""The load generator: the same seed gives the same actions; it runs on both engines."""

from __future__ import annotations

from ledger.client import ActorSigner
from ledger.envelope import LEDGER_ACTOR
from ledger.keys import SigningKey
from ledger.ledger import Ledger
from ledger.simulate import Simulation, simulate
from ledger.verify import StoreSource, verify


def actions(seed: int) -> list[dict]:
    sim = Simulation(seed, projects=3)
    registrar = ActorSigner(LEDGER_ACTOR, SigningKey.derived(b"registrar", "x"), sim.rng)
    return [s.to_json() for s in sim.actions(registrar)]


def test_the_same_seed_gives_the_same_actions():
    first, again, other = actions(11), actions(11), actions(12)
    assert first == again
    assert first != other
    types = {a["action"]["type"] for a in first}
    assert {"project.intake/v1", "project.bid-submitted/v1", "project.bid-decrypted/v1",
            "project.awarded/v1", "project.security-refunded/v1"} <= types
    actors = {a["action"]["actor"] for a in first}
    assert len(actors) > 20  # many actors, each signing with its own key


def test_simulation_in_batches_on_each_engine(store_url, tmp_path):
    ledger = Ledger.open(store_url, key_path=tmp_path / "k")
    result = simulate(ledger, projects=2, seed=4, batch=50)
    assert result.actions > 60
    report = verify(StoreSource(store_url), workers=2)
    assert report.intact, report.findings
    assert report.events == result.actions + 1  # + ledger.started
    ledger.close()
