"""The demo: one realistic project (醴陵棚户区改造二期, SCENARIOS.md: control price 167,014,800.00
yuan, awarded at 83,760,800.00, savings 49.85%) run through the real procedure on a SQLite
store, with many bidders and a cross-city expert pool, a refused late bid, a decryption
failure, an objection, and colluding bidders that raise a warning; then the ledger's own
refunds, a witness's cosignature, the witness reports and their verification.

Names are invented and obviously fictional; figures are the scenario's. Time is simulated
(March–April 2025): the ledger's clock is the demo's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ledger.audit.verify import StoreSource, verify
from ledger.errors import RuleRefused
from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import LEDGER_ACTOR, actor_stream
from ledger.evidence.keys import SigningKey, encode_public_key, write_private_key
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from ledger.log.checkpoints import CheckpointPolicy, log_verifier, log_verifier_key
from ledger.log.cosigning import AddCheckpoint, Witness
from ledger.log.proofs import log_identity
from ledger.log.tree import StoredLog
from ledger.procedures.expert_draw import (
    Expert, commitment, committee_hash, draw, draw_seed, exclusions_hash, pool_hash,
    sealed_bids_digest,
)
from projections.follower import Follower
from projections.reactions import Reactor
from projections.warnings import CollusionWatch
from witness.reports import issue_report, recorded_in_store, verify_report

CST = timezone(timedelta(hours=8))
PROJECT = "project:LILING-2025-SZ02"
SECRET = b"sunledger-demo"


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST).astimezone(timezone.utc)


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class DemoClock:
    def __init__(self) -> None:
        self.moment = cst("2025-03-01T09:00:00")

    def now(self) -> datetime:
        return self.moment


@dataclass
class Demo:
    store: str
    out: Path
    say: callable  # type: ignore[valid-type]
    clock: DemoClock = field(default_factory=DemoClock)
    signers: dict = field(default_factory=dict)

    def act(self, when: datetime, actor: str, step: str, **payload) -> None:
        self.clock.moment = when
        signer = self.signers[actor]
        self.ledger.submit(signer.sign(PROJECT, f"project.{step}/v1", payload,
                                       expected_version=self.ledger.stream_version(PROJECT),
                                       signed_at=when))

    def register(self, actor: str, role: str, organisation: str) -> None:
        signer = ActorSigner(actor, SigningKey.derived(SECRET, actor))
        registrar = ActorSigner(LEDGER_ACTOR, self.ledger.key)
        stream = actor_stream(actor)
        self.ledger.submit(
            registrar.sign(stream, "actor.registered/v1", {"name": f"虚构 {actor}", "roles": [role],
                           "organisation": organisation}, expected_version=0,
                           signed_at=self.clock.now()),
            registrar.sign(stream, "actor.key-added/v1", {
                "key_id": signer.key.key_id, "public_key": encode_public_key(signer.key.public_key)},
                expected_version=1, signed_at=self.clock.now()))
        self.signers[actor] = signer

    def run(self) -> int:
        say, out = self.say, self.out
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("LILING-*.pdf"):  # a previous run's reports: its store is gone
            old.unlink()
        self.written: list[Path] = []
        self.ledger = Ledger.open(self.store, clock=self.clock, origin="sunledger.example/liling-demo",
                                  checkpoints=CheckpointPolicy(1000, float("inf")))
        say(f"store: {self.ledger.url.display()}")
        for actor, role, org in [("tenderee-liling", "tenderee", "醴陵市城市更新建设有限公司（虚构）"),
                                 ("agent-zz", "agent", "株洲虚构招标代理有限公司"),
                                 ("operator-zz", "operator", "株洲市公共资源交易中心（演示）"),
                                 ("witness-zz", "witness", "株洲市公共资源交易中心见证室（演示）")]:
            self.register(actor, role, org)
        bidders = [f"bidder-{i:02d}" for i in range(1, 13)]
        for i, b in enumerate(bidders, 1):
            self.register(b, "bidder", f"虚构第{i}建筑工程有限公司")
        pool = [Expert(f"zz-expert-{i:02d}", "economic" if i % 5 == 0 else "technical")
                for i in range(1, 19)] + \
               [Expert(f"fz-expert-{i:02d}", "economic" if i % 4 == 0 else "technical")
                for i in range(1, 13)]
        for e in pool:
            self.register(e.id, "expert", f"{'株洲' if e.id.startswith('zz') else '抚州'}评标专家库（虚构）")
        say(f"registered {4 + len(bidders) + len(pool)} fictional actors, each with its own key")

        deadline, t, a, o = cst("2025-03-24T09:30:00"), "tenderee-liling", "agent-zz", "operator-zz"
        self.act(cst("2025-03-01T10:00:00"), t, "intake", title="醴陵市棚户区改造二期工程（演示）",
                 category="construction", tenderee=t, agent=a, control_price="167014800.00",
                 method="lowest-price", section="第二标段", supervisor="醴陵市住房和城乡建设局（虚构）")
        self.act(cst("2025-03-01T15:00:00"), o, "intake-accepted")
        self.act(cst("2025-03-03T09:00:00"), a, "announced", documents_from=format_time(cst("2025-03-03T09:00:00")),
                 documents_until=format_time(cst("2025-03-10T17:00:00")), bid_deadline=format_time(deadline))
        self.act(cst("2025-03-03T09:05:00"), a, "documents-issued", document_hash=h("documents v1"), edition=1)
        colluders = bidders[8:11]
        for i, b in enumerate(bidders):
            machine = "m-7f3a" if b in colluders else f"m-{b}"
            self.act(cst("2025-03-04T10:00:00") + timedelta(hours=i), b, "documents-obtained",
                     bidder=b, document_hash=h("documents v1"), machine=machine)
        quotas = {"technical": 5, "economic": 2}
        secret = hashlib.sha256(SECRET + b"draw").digest()
        self.act(cst("2025-03-05T09:00:00"), o, "draw-prepared", secret_commitment=commitment(secret),
                 pool_hash=pool_hash(pool), exclusions_hash=exclusions_hash([]), quotas=quotas)
        self.act(cst("2025-03-12T10:00:00"), "bidder-04", "objection-raised", bidder="bidder-04",
                 text_hash=h("objection: qualification clause 3.2"))
        raised = self.ledger.stream_version(PROJECT)
        self.act(cst("2025-03-13T16:00:00"), a, "objection-answered", objection_version=raised,
                 answer_hash=h("answer: clause 3.2 clarified"))
        say("an objection to the documents was raised 12 days before the deadline and answered "
            "the next day; meanwhile the process was suspended")
        prices = ["91234500.00", "83760800.00", "97350250.00", "88100000.00", "86420000.00",
                  "93815000.00", "89990000.00", "92760000.00",
                  "95000000.00", "95500000.00", "96000000.00",  # the colluders: a series
                  "90875000.00"]
        for i, b in enumerate(bidders[:11]):
            self.act(cst("2025-03-20T10:00:00") + timedelta(minutes=7 * i), b, "security-posted",
                     bidder=b, amount="800000.00", form="guarantee")
        for i, b in enumerate(bidders[:11]):
            self.act(cst("2025-03-22T09:00:00") + timedelta(hours=i), b, "bid-submitted", bidder=b,
                     bid_hash=h(f"sealed {b}"), machine="m-7f3a" if b in colluders else f"m-{b}")
        self.clock.moment = deadline
        Reactor(self.ledger).run()  # the ledger closes submission itself at the deadline
        say(f"submission closed at {deadline.astimezone(CST):%Y-%m-%d %H:%M} (北京时间), 11 sealed bids")
        self.clock.moment = deadline + timedelta(seconds=1)
        late = self.signers["bidder-12"].sign(PROJECT, "project.bid-submitted/v1",
                                              {"bidder": "bidder-12", "bid_hash": h("sealed bidder-12")},
                                              expected_version=self.ledger.stream_version(PROJECT),
                                              signed_at=self.clock.moment)
        try:
            self.ledger.submit(late)
        except RuleRefused as refused:
            say(f"refused and recorded: bidder-12's bid came one second after the deadline "
                f"(rule {refused.details['rule']}, {refused.details['article']})")
        for b in bidders[:11]:
            self.act(deadline + timedelta(minutes=1), b, "checked-in", bidder=b)
        for b in bidders[:11]:
            if b != "bidder-07":
                self.act(deadline + timedelta(minutes=2), b, "key-released", bidder=b, key_hash=h(f"key {b}"))
        for i, b in enumerate(bidders[:11]):
            if b == "bidder-07":
                self.act(deadline + timedelta(minutes=6), o, "decryption-failed", bidder=b, cause="bidder",
                         reason="the bidder's key was not released: counted as revoking its bid")
            else:
                self.act(deadline + timedelta(minutes=6), o, "bid-decrypted", bidder=b,
                         ciphertext_hash=h(f"sealed {b}"), plaintext_hash=h(f"plain {b}"), price=prices[i])
        say("no-meeting opening (不见面开标) in 6 minutes: 10 bids decrypted, bidder-07's failed by its own fault")
        self.act(deadline + timedelta(minutes=8), "witness-zz", "witness-observation",
                 note="开标过程经音视频全程记录，投标人在线签到、解密，未见异常。",
                 media_hash=h("opening recording 2025-03-24.mp4"))
        head = sealed_bids_digest(h(f"sealed {b}") for b in bidders[:11])
        committee = draw(draw_seed(secret, head), pool, set(), quotas)
        self.act(deadline + timedelta(minutes=20), o, "experts-drawn", committee=[e.id for e in committee],
                 head_hash=head, committee_hash=committee_hash(committee))
        say(f"7 experts drawn at random from two cities' pools ({', '.join(e.id for e in committee)})")
        self.report("opening")
        state = self.ledger.stream(PROJECT).state
        ranking = self.ledger.procedure.ranking(state)[:3]
        chair = committee[0].id
        self.act(deadline + timedelta(hours=5), chair, "evaluation-reported", ranking=ranking,
                 report_hash=h("evaluation report"))
        for e in committee[1:]:
            self.act(deadline + timedelta(hours=5, minutes=20), e.id, "evaluation-report-signed",
                     report_hash=h("evaluation report"))
        self.report("evaluation")
        # published on Tuesday 25 March: the three days are 26–28 March, to 28 March 24:00
        published, until = cst("2025-03-25T09:00:00"), cst("2025-03-29T00:00:00")
        self.act(published, a, "candidates-published", until=format_time(until))
        awarded = cst("2025-03-31T09:00:00")  # the Monday after
        self.act(awarded, t, "awarded", winner=ranking[0], price=state.prices[ranking[0]].__str__())
        self.act(awarded + timedelta(hours=2), o, "draw-disclosed", secret=secret.hex(),
                 pool=[e.to_json() for e in pool], exclusions=[])
        self.act(cst("2025-04-10T10:00:00"), t, "contract-signed", winner=ranking[0], contract_hash=h("contract"))
        # the tenderee's written report to the supervision body, within 15 days (法 §47)
        self.act(cst("2025-04-11T10:00:00"), a, "supervision-report-filed",
                 report_hash=h("招标投标情况书面报告"))
        refunds = Reactor(self.ledger).run()
        say(f"awarded to {ranking[0]} at {state.prices[ranking[0]]} yuan; contract signed; the "
            f"written report filed with the supervision body; {len(refunds)} securities "
            "refunded by the ledger itself")
        final = self.ledger.stream(PROJECT).state
        say(f"savings rate: {(final.savings_rate() * 100):.2f}%")
        watch = CollusionWatch()
        Follower(self.ledger.recorder, watch).follow()
        for w in watch.warnings(PROJECT):
            say(f"warning ({w.article}): {w.text} — {', '.join(w.bidders)}")
        self.witness()
        full = self.report("full")
        self.report("full", lang="en")
        self.ledger.submit(self.signers["witness-zz"].sign(
            PROJECT, "project.report-signed-off/v1", {"report_id": full["report_id"],
                                                       "pdf_hash": full["pdf_hash"]},
            expected_version=self.ledger.stream_version(PROJECT), signed_at=self.clock.now()))
        self.say("the witness officer signed off the full report (a signed event)")
        self.cosign()
        report = verify(StoreSource(self.store), workers=1)
        say(f"verification: {'INTACT' if report.intact else f'{report.findings_total} FINDINGS'} — "
            f"{report.events} events, {report.checkpoints} checkpoints, latest cosigned by "
            f"{', '.join(w.split('+')[0] for w in report.cosigned_by) or 'no one'}")
        from ledger.log.proofs import cosigned_note

        say("latest checkpoint:\n" + cosigned_note(self.ledger.recorder, StoredLog(self.ledger.recorder).size()))
        for pdf in self.written:
            check = verify_report(pdf.read_bytes(), log=log_verifier(*log_identity(self.ledger.recorder)),
                                  recorded_hashes=recorded_in_store(self.ledger.recorder, PROJECT))
            say(f"report {pdf}: {'verified' if check.ok else 'NOT verified: ' + '; '.join(check.fails)}")
        self.ledger.close()
        return 0 if report.intact else 1

    def report(self, kind: str, lang: str = "zh") -> dict:
        pdf, issued = issue_report(self.ledger, PROJECT, kind, lang,
                                   write_to=lambda rid: self.out / f"{rid}.pdf")
        path = self.out / f"{issued['report_id']}.pdf"
        self.written.append(path)
        self.say(f"{kind} witness report: {path} ({len(pdf):,} bytes)")
        return issued

    def witness(self) -> None:
        """A supervision body's witness (its own key and state) starts following the log."""
        state = self.out / "jgj-witness.json"
        for old in (state, state.with_name(state.name + ".key")):
            old.unlink(missing_ok=True)
        Witness.create(state, "jgj.example/witness")
        write_private_key(state.with_name(state.name + ".key"), SigningKey.derived(SECRET, "witness"))
        self.jgj = Witness(state, SigningKey.derived(SECRET, "witness"))
        origin, public_key = log_identity(self.ledger.recorder)
        self.jgj.add_log(log_verifier_key(origin, public_key))
        self.cosign()

    def cosign(self) -> None:
        """The witness cosigns the newest checkpoint, given a consistency proof from the size
        it cosigned last."""
        note = self.ledger.checkpoint()
        log = StoredLog(self.ledger.recorder)
        size = log.size()
        known = next(iter(self.jgj.logs.values()))["size"]
        line = self.jgj.add_checkpoint(AddCheckpoint(known, log.consistency(known, size), note),
                                       int(self.clock.now().timestamp()))
        self.ledger.recorder.add_cosignature(size, self.jgj.verifier_key, line)
        self.say(f"the supervision body's witness cosigned the checkpoint of size {size}")
