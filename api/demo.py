"""The demo: one realistic project (醴陵棚户区改造二期, SCENARIOS.md: control price 167,014,800.00
yuan, awarded at 83,760,800.00, savings 49.85%) run through the real procedure on a SQLite
store, with many bidders and a cross-city expert pool, a refused late bid, a decryption
failure, an objection, and colluding bidders that raise a warning; then the ledger's own
refunds, a witness's cosignature, the witness reports and their verification. After it, two
rights transactions sold by listing (挂牌) on the same store, a land parcel through a timed
round and the 九郎山 concession (api/demo_listings.py).

Names are invented and obviously fictional; figures are the scenario's. Time is simulated
(March–July 2025): the ledger's clock is the demo's. Keys and nonces are derived from the
demo's secret, so that a run with the same ledger key records the same events.

The actors' actions (and their registration) go to the ledger directly, or with `http` over
HTTP to a server of the same ledger (api/submitters.py): the same events either way.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ledger.audit.runs import record_run
from ledger.audit.verify import StoreSource, verify
from ledger.errors import LedgerError, RuleRefused
from ledger.evidence.canonical import format_time
from ledger.evidence.certificates import certificate_facts
from ledger.evidence.envelope import LEDGER_ACTOR, SEALED_STAGE_TYPES, actor_stream
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
from witness.reports import (
    InFolder, describe_centre, issue_report, recorded_in_store, verify_report,
)

from .submitters import Direct, OverHttp

CST = timezone(timedelta(hours=8))
PROJECT = "project:LILING-2025-SZ02"
SECRET = b"sunledger-demo"
CENTRE = "株洲市公共资源交易中心（演示）"
PORTAL = "https://ggzy.example.gov.cn/sunledger/verify"  # the centre's verification page
SUPERVISOR = "醴陵市住房和城乡建设局（虚构）"  # the project's supervision body (行政监督部门)
PORTAL_ACTORS = {"witness-zz": "见证人员 witness officer", "witness-zz2": "见证人员 witness officer",
                 "supervisor-liling": "行政监督部门 supervision body"}  # their keys written out
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "志强", "海燕", "立新", "晓明", "秀英", "文斌", "丽华", "国平", "春梅", "德胜",
         "玉兰", "卫东", "静怡", "红军", "淑芬", "永福", "佳琪", "振华", "慧敏", "光明", "雪梅",
         "新民", "桂英", "学军", "凤霞", "建华", "美玲", "正阳", "若兰"]


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST).astimezone(timezone.utc)


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def nonces(actor: str) -> random.Random:
    """An actor's nonces in the demo: each fresh, the same in every run."""
    return random.Random(hashlib.sha256(SECRET + b"nonces\x00" + actor.encode()).digest())


class DemoCA:
    """A fictional certificate authority (数字证书认证机构) whose certificates carry the demo
    bidders' keys; derived from the demo's secret, so every run issues the same ones."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.x509.oid import NameOID

        self.x509, self.oid = x509, NameOID
        self.key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(SECRET + b"ca").digest())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "湖南虚构数字证书认证中心（演示）")])
        self.cert = self._build(self.name, self.key.public_key(), 1, ca=True)

    def _build(self, subject, public_key, serial: int, ca: bool,
               issued: datetime = datetime(2025, 1, 1, tzinfo=timezone.utc)):
        from cryptography.hazmat.primitives import serialization

        x509 = self.x509
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.name)
                   .public_key(public_key).serial_number(serial)
                   .not_valid_before(issued).not_valid_after(issued + timedelta(days=730)))
        if ca:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        return builder.sign(self.key, None).public_bytes(serialization.Encoding.DER)

    def trust_payload(self) -> dict:
        facts = certificate_facts(self.cert)
        return {"certificate": base64.b64encode(self.cert).decode(), "fingerprint": facts.fingerprint,
                "subject": facts.subject}

    def issue(self, key: SigningKey, organisation: str, actor: str, issued: datetime) -> bytes:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        serial = int.from_bytes(hashlib.sha256(SECRET + actor.encode()).digest()[:8], "big") | 1 << 62
        subject = self.x509.Name([self.x509.NameAttribute(self.oid.COMMON_NAME, organisation)])
        return self._build(subject, Ed25519PublicKey.from_public_bytes(key.public_key), serial,
                           ca=False, issued=issued)


class DemoRanBefore(LedgerError):
    code = "demo-ran-before"
    status = 409


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
    http: bool = False  # the actions over HTTP (POST /v1/actions), not Ledger.submit
    clock: DemoClock = field(default_factory=DemoClock)
    signers: dict = field(default_factory=dict)

    def act(self, when: datetime, actor: str, step: str, *, project: str = PROJECT,
            **payload) -> None:
        """`actor` reads the project's version (unless a bidder's sealed-stage action names
        none), signs the step at `when`, and submits it."""
        self.clock.moment = when
        signer, type_ = self.signers[actor], f"project.{step}/v1"
        version = None if type_ in SEALED_STAGE_TYPES else self.submitter.version(signer, project)
        self.submitter.submit(signer.sign(project, type_, payload, expected_version=version,
                                          signed_at=when))

    def register(self, actor: str, role: str, organisation: str, name: str | None = None,
                 certified: datetime | None = None) -> None:
        """A fictional actor and its key; a bidder's key comes in a certificate from the demo
        CA (as a CA-issued digital certificate, 数字证书, identifies bidders at a centre)."""
        signer = ActorSigner(actor, SigningKey.derived(SECRET, actor), rng=nonces(actor))
        registrar, stream = self.registrar, actor_stream(actor)
        if role == "bidder":
            cert = self.ca.issue(signer.key, organisation, actor, certified or self.clock.now())
            facts = certificate_facts(cert)
            key_type, key_payload = "actor.certificate-added/v1", {
                "key_id": signer.key.key_id, "certificate": base64.b64encode(cert).decode(),
                "fingerprint": facts.fingerprint, "serial": facts.serial, "issuer": facts.issuer}
        else:
            key_type, key_payload = "actor.key-added/v1", {
                "key_id": signer.key.key_id, "public_key": encode_public_key(signer.key.public_key)}
        self.submitter.submit(
            registrar.sign(stream, "actor.registered/v1", {"name": name or organisation, "roles": [role],
                           "organisation": organisation}, expected_version=0,
                           signed_at=self.clock.now()),
            registrar.sign(stream, key_type, key_payload, expected_version=1,
                           signed_at=self.clock.now()))
        self.signers[actor] = signer

    def run(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger.open(self.store, clock=self.clock, origin="sunledger.example/liling-demo",
                                  checkpoints=CheckpointPolicy(1000, float("inf")))
        try:
            self.say(f"store: {self.ledger.url.display()}")
            self.set_up_centre()
            self.submitter = OverHttp(self.ledger, self.clock) if self.http else Direct(self.ledger)
            if self.http:
                self.say(f"the actors' actions go over HTTP to {self.submitter.url} "
                         "(POST /v1/actions, signed GET /v1/projects/…/version)")
            try:
                code = self.project()
                if self.http:
                    self.say(self.submitter.summary())
                return code
            finally:
                self.submitter.close()
        finally:
            self.ledger.close()

    def set_up_centre(self) -> None:
        """The centre's own set-up, by its operator on the store (`sunledger centre`,
        `sunledger trust-ca`): how its reports are numbered, and the CA it trusts."""
        self.registrar = ActorSigner(LEDGER_ACTOR, self.ledger.key, rng=nonces(LEDGER_ACTOR))
        first = ActorSigner(LEDGER_ACTOR, self.ledger.key, rng=nonces(LEDGER_ACTOR)).nonce()
        if self.ledger.recorder.nonce_used(LEDGER_ACTOR, first):  # the registrar's first action's
            raise DemoRanBefore(f"the demo ran in {self.ledger.url.display()} before: give it a "
                                "store of its own (without --store, a new one in --out)")
        for old in [*self.out.glob("LILING-*.pdf"), *self.out.glob("SHIFENG-*.pdf")]:
            # a previous run's reports: its store is gone
            old.unlink()
        self.written: list[Path] = []
        describe_centre(self.ledger, CENTRE, "株交见", PORTAL, signer=self.registrar)
        self.ca = DemoCA()
        self.ledger.submit(self.registrar.sign(
            "ledger", "ledger.ca-trusted/v1", self.ca.trust_payload(),
            expected_version=self.ledger.stream_version("ledger"), signed_at=self.clock.now()))

    def project(self) -> int:
        """The project, from its actors' registration to its verified reports."""
        say = self.say
        for actor, role, org, name in [
                ("tenderee-liling", "tenderee", "醴陵市城市更新建设有限公司（虚构）", None),
                ("agent-zz", "agent", "株洲虚构招标代理有限公司", None),
                ("operator-zz", "operator", CENTRE, "周立"),
                ("recorder-zz", "operator", CENTRE, "吴桐"),
                ("witness-zz", "witness", CENTRE, "陈静"),
                ("witness-zz2", "witness", CENTRE, "刘洋"),
                ("supervisor-liling", "supervisor", SUPERVISOR, None)]:
            self.register(actor, role, org, name)
        bidders = [f"bidder-{i:02d}" for i in range(1, 13)]
        for i, b in enumerate(bidders, 1):
            # certificates applied for on days apart; the colluders' minutes apart (a signal)
            certified = (cst("2025-02-10T10:00:00") + timedelta(minutes=5 * i) if 9 <= i <= 11
                         else cst("2025-01-06T09:00:00") + timedelta(days=3 * i, hours=i % 5))
            self.register(b, "bidder", f"虚构第{i}建筑工程有限公司", certified=certified)
        pool = [Expert(f"zz-expert-{i:02d}", "economic" if i % 5 == 0 else "technical")
                for i in range(1, 19)] + \
               [Expert(f"fz-expert-{i:02d}", "economic" if i % 4 == 0 else "technical")
                for i in range(1, 13)]
        for i, e in enumerate(pool):
            self.register(e.id, "expert", f"{'株洲' if e.id.startswith('zz') else '抚州'}市综合评标专家库（虚构）",
                          f"{SURNAMES[i % len(SURNAMES)]}{GIVEN[i % len(GIVEN)]}")
        say(f"registered {6 + len(bidders) + len(pool)} fictional actors, each with its own key")

        deadline, t, a, o = cst("2025-03-24T09:30:00"), "tenderee-liling", "agent-zz", "operator-zz"
        self.act(cst("2025-03-01T10:00:00"), t, "intake", title="醴陵市棚户区改造二期工程（演示）",
                 category="construction", tenderee=t, agent=a, control_price="167014800.00",
                 method="lowest-price", section="第二标段", supervisor=SUPERVISOR)
        self.act(cst("2025-03-01T15:00:00"), o, "intake-accepted")
        for officer in ("witness-zz", "witness-zz2"):  # the centre assigns the project's witnesses
            self.act(cst("2025-03-01T15:10:00"), o, "witness-assigned", officer=officer)
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
        raised = self.submitter.version(self.signers[a], PROJECT)
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
        late = self.signers["bidder-12"]
        try:
            self.submitter.submit(late.sign(PROJECT, "project.bid-submitted/v1",
                                            {"bidder": "bidder-12", "bid_hash": h("sealed bidder-12")},
                                            expected_version=None,
                                            signed_at=self.clock.moment))
        except RuleRefused as refused:
            say(f"refused and recorded: bidder-12's bid came one second after the deadline "
                f"(rule {refused.details['rule']}, {refused.details['article']})")
        self.act(deadline, o, "opening-convened", host="operator-zz", recorder="recorder-zz",
                 venue=f"{CENTRE}电子交易平台（不见面开标）")
        for b in bidders[:11]:
            self.act(deadline + timedelta(minutes=1), b, "checked-in", bidder=b)
        for b in bidders[:11]:
            if b != "bidder-07":
                self.act(deadline + timedelta(minutes=2), b, "key-released", bidder=b, key_hash=h(f"key {b}"))
        for i, b in enumerate(bidders[:11]):
            if b == "bidder-07":
                self.act(deadline + timedelta(minutes=6), o, "decryption-failed", bidder=b, cause="bidder",
                         reason="投标人未在解密时限内完成解密，视为撤销投标文件")
            else:
                self.act(deadline + timedelta(minutes=6), o, "bid-decrypted", bidder=b,
                         ciphertext_hash=h(f"sealed {b}"), plaintext_hash=h(f"plain {b}"), price=prices[i])
        say("no-meeting opening (不见面开标) in 6 minutes: 10 bids decrypted, bidder-07's failed by its own fault")
        self.act(deadline + timedelta(minutes=8), "witness-zz", "witness-observation",
                 note="开标过程经音视频全程记录；11 家投标人在线签到，10 家在时限内完成解密，"
                      "1 家未在时限内解密。",
                 media_hash=h("opening recording 2025-03-24.mp4"))
        watch = CollusionWatch()  # the officer sees the warnings the opening raised, and refers them
        Follower(self.ledger.recorder, watch).follow()
        for w in watch.warnings(PROJECT):
            self.act(deadline + timedelta(minutes=12), "witness-zz", "warning-referred",
                     indicator=w.indicator, bidders=list(w.bidders),
                     supervisor=SUPERVISOR)
        say("the witness officer passed the opening's collusion warnings to the supervision body")
        head = sealed_bids_digest(h(f"sealed {b}") for b in bidders[:11])
        committee = draw(draw_seed(secret, head), pool, set(), quotas)
        self.act(deadline + timedelta(minutes=20), o, "experts-drawn", committee=[e.id for e in committee],
                 head_hash=head, committee_hash=committee_hash(committee))
        say(f"7 experts drawn at random from two cities' pools ({', '.join(e.id for e in committee)})")
        self.report("opening")
        state = self.ledger.stream(PROJECT).state
        ranking = self.ledger.procedure.ranking(state)[:3]
        chair = committee[0].id
        self.act(deadline + timedelta(hours=2), chair, "bid-clarified", bidder=ranking[0],
                 question_hash=h("请说明报价中主要材料价格的构成"), answer_hash=h("报价构成说明"))
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
        for officer in ("witness-zz", "witness-zz2"):
            self.act(self.clock.now(), officer, "report-signed-off", report_id=full["report_id"],
                     pdf_hash=full["pdf_hash"])
        self.say(f"two witness officers signed off the full report {full['report_id']} (signed events)")
        self.report("full", signed_edition_of=full["report_id"])
        from .demo_listings import DemoListings  # it builds on this module's helpers

        listed = DemoListings(self).run()
        self.cosign()
        started = time.perf_counter()
        report = verify(StoreSource(self.store), workers=1)
        record_run(self.ledger.recorder, report, time.perf_counter() - started, "sunledger demo")
        say(f"verification: {'INTACT' if report.intact else f'{report.findings_total} FINDINGS'} — "
            f"{report.events} events, {report.checkpoints} checkpoints, latest cosigned by "
            f"{', '.join(w.split('+')[0] for w in report.cosigned_by) or 'no one'}")
        from ledger.log.proofs import cosigned_note

        say("latest checkpoint:\n" + cosigned_note(self.ledger.recorder, StoredLog(self.ledger.recorder).size()))
        issued = [digest for project in (PROJECT, *listed)
                  for digest in recorded_in_store(self.ledger.recorder, project)]
        for pdf in self.written:
            check = verify_report(pdf.read_bytes(), log=log_verifier(*log_identity(self.ledger.recorder)),
                                  recorded_hashes=issued)
            say(f"report {pdf}: {'verified' if check.ok else 'NOT verified: ' + '; '.join(check.fails)}")
        self.portal_keys()
        return 0 if report.intact else 1

    def portal_keys(self) -> None:
        """The key files of the demo's witness officers and supervision body, to sign in to
        the portal with (`./run portal`). Demo keys, derived from the demo's public secret:
        anyone may sign as these fictional actors on a demo store, and on no other."""
        folder = self.out / "portal-keys"
        folder.mkdir(exist_ok=True)
        for actor in PORTAL_ACTORS:
            path = folder / f"{actor}.key"
            path.unlink(missing_ok=True)
            write_private_key(path, SigningKey.derived(SECRET, actor))
        self.say(f"portal sign-in keys (demo actors only) in {folder}: "
                 + ", ".join(f"{a}.key ({role})" for a, role in PORTAL_ACTORS.items()))

    def report(self, kind: str, lang: str = "zh", signed_edition_of: str | None = None,
               project: str = PROJECT) -> dict:
        into = InFolder(self.out)
        pdf, issued = issue_report(self.ledger, project, kind, lang, write_to=into,
                                   signed_edition_of=signed_edition_of, signer=self.registrar)
        self.written += into.written
        self.say(f"{kind} witness report {issued['report_id']}: {into.written[0]} ({len(pdf):,} bytes)")
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
