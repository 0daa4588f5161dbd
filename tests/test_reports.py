"""Witness reports (数字见证报告) as a reader and a checker meet them: rendered from a real
store, read back with poppler's tools (pdftotext, pdffonts, pdfdetach, pdftoppm), byte-identical
on a second render, and refused by verify-report when anything about them is off."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import timedelta


import pytest

from ledger.errors import BadNote, LedgerError, RuleRefused
from ledger.log.checkpoints import log_verifier
from ledger.log.proofs import log_identity
from projections.project_state import project_events
from test_trading import Tender, cst
from witness.evidence import gather_evidence
from witness.render import MissingGlyph, check_glyphs, render
from witness.reports import issue_report, recorded_in_store, verify_report

POPPLER = shutil.which("pdftotext") and shutil.which("pdffonts") and shutil.which("pdfdetach")
pytestmark = pytest.mark.skipif(not POPPLER, reason="poppler-utils missing: ./run setup installs it")

@pytest.fixture
def store_url(sqlite_url):
    """Rendering does not depend on the engine: these tests use a SQLite file only."""
    return sqlite_url


LILING_PRICES = ["91234500.00", "83760800.00", "97350250.00", "88100000.00", "86420000.00"]


def with_attachment(pdf: bytes, evidence: bytes) -> bytes:
    """The PDF's pages with another evidence attachment (what a forger would make)."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf)))
    writer.add_attachment("sunledger-evidence.json", evidence)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def tool(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def liling(world):
    tender = Tender(world, "project:LILING-R", category="construction", method="lowest-price",
                    control="167014800.00", bidders=5, experts=5)
    tender.run(LILING_PRICES, cst("2025-03-24T09:30:00"))
    return world


def test_the_full_report_reads_in_chinese_with_fonts_and_evidence_embedded(liling, tmp_path):
    pdf, issued = issue_report(liling.ledger, "project:LILING-R", "full")
    path = tmp_path / "full.pdf"
    path.write_bytes(pdf)
    text = tool("pdftotext", "-layout", str(path), "-")
    for expected in ("全过程数字见证报告", "虚构演示项目", "83,760,800.00", "49.85%", "评标委员会",
                     "工程建设", "经评审的最低投标价法", "公开招标", "已签订合同", "投标准备时间",
                     "见证人员对交易过程进行记录和见证", issued["report_id"]):
        assert expected in text, expected
    for code in ("lowest-price", "construction", "contracted", "security-refunded", "guarantee"):
        assert code not in text, f"the stable code {code!r} shows untranslated"
    fonts = tool("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # emb column
    assert "A4" in tool("pdfinfo", str(path))
    # the attachment is the evidence the ledger recorded the hash of
    assert "sunledger-evidence.json" in tool("pdfdetach", "-list", str(path))
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "evidence.json"), str(path)],
                   check=True)
    attached = (tmp_path / "evidence.json").read_bytes()
    assert hashlib.sha256(attached).hexdigest() == issued["evidence_hash"]
    # PDF/A-3b, as its XMP metadata declares it
    from pypdf import PdfReader

    root = PdfReader(str(path)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"  # the sRGB intent
    # the PNG pages exist
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page*.png"))
    assert issued["pdf_hash"] in recorded_in_store(liling.ledger.recorder, "project:LILING-R")
    # two renders of the same events are byte-identical: the worker process's, and this
    # process's from the evidence read back out of the PDF
    assert render(json.loads(attached)) == pdf


def test_every_step_and_stage_has_its_words():
    from ledger.evidence.catalogue import EVENT_TYPES
    from ledger.procedures.tender import REJECTION_GROUNDS, STAGES
    from projections.warnings import INDICATORS
    from witness import vocabulary as v

    steps = {name.split(".", 1)[1].split("/", 1)[0] for name in EVENT_TYPES if name.startswith("project.")}
    assert steps <= v.STEPS.keys(), steps - v.STEPS.keys()
    assert set(STAGES) <= v.STAGES.keys() and REJECTION_GROUNDS <= v.GROUNDS.keys()
    indicators = {w.indicator for f in INDICATORS for w in f(_facts_for_every_indicator(), 20)}
    assert indicators == v.INDICATORS.keys()
    from api.portal.words import WORDS
    from ledger.evidence.catalogue import REPORT_KINDS
    from witness.model import TITLES
    assert set(REPORT_KINDS) == TITLES.keys()
    assert all(f"kind_{kind}" in WORDS for kind in REPORT_KINDS)  # the portal's report lists


def _facts_for_every_indicator():
    from datetime import datetime, timezone
    from decimal import Decimal

    from projections.warnings import BidderFacts

    at = datetime(2025, 3, 1, tzinfo=timezone.utc)
    return [BidderFacts(f"b{i}", (i,), "f", at, Decimal(100 + i), "acct", frozenset(["ip"]),
                        frozenset(["m"]), frozenset(["c"]), at) for i in range(3)]


def test_a_refused_late_bid_is_in_the_report_and_its_evidence(liling, tmp_path):
    from ledger.errors import RuleRefused as Refused

    late = liling.register("LILING-R-late")
    with pytest.raises(Refused, match="deadline"):
        liling.submit(late, "project:LILING-R", "project.bid-submitted/v1",
                      {"bidder": "LILING-R-late", "bid_hash": "c" * 64})
    pdf, issued = issue_report(liling.ledger, "project:LILING-R", "full")
    path = tmp_path / "full.pdf"
    path.write_bytes(pdf)
    text = tool("pdftotext", "-layout", str(path), "-")
    assert "逾期送达的投标文件，拒收" in text and "LILING-R-late" in text
    evidence = json.loads(json.dumps(gather_evidence(liling.ledger.recorder, "project:LILING-R", "full")))
    refusals = evidence["refusals"]
    assert refusals["stream"] == "refusal:LILING-R" and len(refusals["events"]) == 1
    # evidence whose refusal was dropped does not hold: the refusals' head is signed
    evidence["refusals"]["events"] = []
    with pytest.raises(BadNote):
        render(evidence)


def test_a_translation_supersedes_nothing(liling):
    _, zh = issue_report(liling.ledger, "project:LILING-R", "full")
    _, en = issue_report(liling.ledger, "project:LILING-R", "full", lang="en")
    assert en["lang"] == "en" and en["report_id"] != zh["report_id"]  # each its own number
    reports = liling.ledger.stream("project:LILING-R").state.reports
    assert "superseded_by" not in reports[zh["report_id"]]
    _, newer = issue_report(liling.ledger, "project:LILING-R", "full")
    reports = liling.ledger.stream("project:LILING-R").state.reports
    assert reports[zh["report_id"]]["superseded_by"] == newer["report_id"]
    assert "superseded_by" not in reports[en["report_id"]]


def test_verify_report_accepts_the_issued_pdf_and_rejects_changes(liling, tmp_path):
    pdf, issued = issue_report(liling.ledger, "project:LILING-R", "full")
    log = log_verifier(*log_identity(liling.ledger.recorder))
    recorded = recorded_in_store(liling.ledger.recorder, "project:LILING-R")
    check = verify_report(pdf, log=log, recorded_hashes=recorded)
    assert check.ok, check.fails
    assert len(check.holds) == 3
    # one changed byte
    changed = bytearray(pdf)
    changed[len(pdf) // 2] ^= 0x01
    assert not verify_report(bytes(changed), log=log, recorded_hashes=recorded).ok
    # a report whose evidence was edited (a price raised): our renderer refuses to render
    # it, and a PDF that carries it anyway is refused by verify-report
    evidence = gather_evidence(liling.ledger.recorder, "project:LILING-R", "full")
    events = [json.loads(e) for e in evidence["completeness"]["events"]]
    decrypted = next(e for e in events if e["type"] == "project.bid-decrypted/v1")
    decrypted["payload"]["price"] = "99999999.00"
    evidence["completeness"]["events"] = [json.dumps(e, ensure_ascii=False) for e in events]
    with pytest.raises(BadNote):
        render(evidence)
    forged = with_attachment(pdf, json.dumps(evidence, ensure_ascii=False).encode())
    result = verify_report(forged, log=log, recorded_hashes=recorded)
    assert not result.ok and any("evidence does not hold" in f for f in result.fails)
    # a genuine render that was never recorded as issued
    unrecorded, _ = issue_report(liling.ledger, "project:LILING-R", "full", lang="en",
                                 record=False)
    result = verify_report(unrecorded, log=log, recorded_hashes=recorded)
    assert not result.ok and any("records no report" in f for f in result.fails)
    assert len(result.holds) == 2  # its evidence and its bytes are fine


def test_committee_names_stay_confidential_until_the_award(world, tmp_path):
    tender = Tender(world, "project:SECRET-1", category="construction", method="lowest-price",
                    control="50000000.00", bidders=3, experts=5)
    tender.run(["41000000.00", "40500000.00", "43900000.00"], cst("2025-06-10T09:30:00"),
               until="award")
    before = world.ledger.stream("project:SECRET-1").state
    assert before.stage == "contracted"
    pdf, _ = issue_report(world.ledger, "project:SECRET-1", "evaluation")
    path = tmp_path / "evaluation.pdf"
    path.write_bytes(pdf)
    text = tool("pdftotext", str(path), "-")
    # awarded: names shown, with their organisations
    assert "SECRET-1-e1" in text


def test_an_evaluation_report_before_the_award_hides_the_members(world, tmp_path):
    tender = Tender(world, "project:SECRET-2", category="construction", method="lowest-price",
                    control="50000000.00", bidders=3, experts=5)
    tender.run(["41000000.00", "40500000.00", "43900000.00"], cst("2025-06-10T09:30:00"),
               until="opened")
    members = [e.actor for e in tender.experts]
    world.clock.moment = cst("2025-06-10T09:30:00") + timedelta(minutes=20)
    from ledger.procedures.expert_draw import committee_hash, draw, draw_seed

    committee = draw(draw_seed(tender.secret, tender.head), tender.pool, set(), tender.quotas)
    tender.at(world.clock.moment, "operator-1", "experts-drawn", committee=[e.id for e in committee],
              head_hash=tender.head, committee_hash=committee_hash(committee))
    state = world.ledger.stream("project:SECRET-2").state
    ranking = world.ledger.procedure.ranking(state)[:3]
    tender.at(world.clock.moment + timedelta(hours=3), committee[0].id, "evaluation-reported",
              ranking=ranking, report_hash="e" * 64)
    pdf, _ = issue_report(world.ledger, "project:SECRET-2", "evaluation")
    path = tmp_path / "evaluation.pdf"
    path.write_bytes(pdf)
    text = tool("pdftotext", str(path), "-")
    assert "评标委员会成员名单保密" in text and "5 人" in text
    assert not any(m in text for m in members) and "评标委员会负责人" in text and "定标后公布" in text
    evidence = gather_evidence(world.ledger.recorder, "project:SECRET-2", "evaluation")
    assert not set(members) & set(evidence["actors"])  # nor their registered names


def test_a_report_not_yet_reached_is_refused_and_a_missing_glyph_is_an_error(world):
    from witness.reports import ReportNotReached

    world.open_project("project:EARLY-1")
    with pytest.raises(ReportNotReached):
        issue_report(world.ledger, "project:EARLY-1", "opening")
    with pytest.raises(MissingGlyph, match=r"U\+1F600"):
        check_glyphs("<p>报告 \U0001F600</p>")


def test_a_sign_off_names_an_issued_report(liling):
    pdf, issued = issue_report(liling.ledger, "project:LILING-R", "full")
    officer = liling.register("witness-officer-1", roles=("witness",))
    liling.submit(liling.registrar, "project:LILING-R", "project.witness-assigned/v1",
                  {"officer": "witness-officer-1"})
    liling.submit(officer, "project:LILING-R", "project.report-signed-off/v1",
                  {"report_id": issued["report_id"], "pdf_hash": issued["pdf_hash"]})
    with pytest.raises(RuleRefused, match="witness-report"):
        liling.submit(officer, "project:LILING-R", "project.report-signed-off/v1",
                      {"report_id": issued["report_id"], "pdf_hash": "0" * 64})
    state = liling.ledger.stream("project:LILING-R").state
    assert state.reports[issued["report_id"]]["signed_off_by"] == ["witness-officer-1"]
    # a newer report of the same kind supersedes the older, which stays recorded
    _, newer = issue_report(liling.ledger, "project:LILING-R", "full")
    state = liling.ledger.stream("project:LILING-R").state
    assert state.reports[issued["report_id"]]["superseded_by"] == newer["report_id"]
    assert len([e for e in project_events(liling.ledger.recorder, "project:LILING-R")
                if e["type"] == "project.report-issued/v1"]) == 2



def test_the_reporter_issues_each_report_when_its_milestone_is_reached(liling, tmp_path):
    from witness.reports import Reporter

    reporter = Reporter(liling.ledger, tmp_path / "reports")
    assert sorted(kind for _, kind in reporter.due()) == ["evaluation", "full", "opening"]
    written = reporter.run()
    assert len(written) == 3 and all(p.stat().st_size > 10_000 for p in written)
    assert Reporter(liling.ledger, tmp_path / "reports").due() == []  # issued once
    # once an officer signs off the full report, its signed edition (签发版) is due, once
    full = next(r for r, issue in liling.ledger.stream("project:LILING-R").state.reports.items()
                if issue["kind"] == "full")
    officer = liling.register("witness-officer-2", roles=("witness",))
    liling.submit(liling.registrar, "project:LILING-R", "project.witness-assigned/v1",
                  {"officer": "witness-officer-2"})
    liling.submit(officer, "project:LILING-R", "project.report-signed-off/v1",
                  {"report_id": full, "pdf_hash": liling.ledger.stream("project:LILING-R")
                   .state.reports[full]["pdf_hash"]})
    signed = reporter.run()
    assert len(signed) == 1 and signed[0].name.endswith("-signed.pdf")
    assert full + "（签发版）" in liling.ledger.stream("project:LILING-R").state.reports
    assert reporter.due() == []
    # a signed edition of a report nobody signed off is refused
    with pytest.raises(LedgerError, match="signed off"):
        issue_report(liling.ledger, "project:LILING-R", "full",
                     signed_edition_of=next(r for r, i in liling.ledger.stream("project:LILING-R")
                                            .state.reports.items() if i["kind"] == "opening"))


def test_a_warnings_events_show_as_runs_of_versions():
    from witness.model import versions

    assert versions((28, 13, 14, 15), True) == "序号 13–15、28"
    assert versions(tuple(range(1, 40, 2)), False, most=3) == "nos. 1, 3, 5, … (20 in all)"
    assert versions(tuple(range(1, 40, 2)), True, most=3) == "序号 1、3、5、…（共 20 项）"


def test_a_report_that_cannot_be_written_is_not_recorded(liling, tmp_path):
    from witness.reports import ReportNotWritten

    before = liling.ledger.stream_version("project:LILING-R")
    with pytest.raises(ReportNotWritten, match="nothing was recorded"):  # no such folder
        issue_report(liling.ledger, "project:LILING-R", "full",
                     write_to=lambda rid: tmp_path / "no-such-folder" / f"{rid}.pdf")
    assert liling.ledger.stream_version("project:LILING-R") == before
    assert not list(tmp_path.rglob("*.partial"))


def test_the_report_command_records_nothing_when_it_cannot_write_the_pdf(liling, tmp_path):
    from test_cli import sunledger

    liling.ledger.checkpoint()
    liling.ledger.close()
    done = sunledger("report", "--store", liling.raw.url, "--ledger-key",
                     str(tmp_path / "ledger.key"), "--project", "LILING-R", "--out",
                     str(tmp_path / "missing" / "full.pdf"), check=2)
    assert "cannot write" in done.stderr and "nothing was recorded" in done.stderr
    assert "Traceback" not in done.stderr
    assert not [r for r in liling.raw.rows() if r[3] == "project.report-issued/v1"]


def test_a_report_killed_at_any_moment_is_never_recorded_without_its_file(liling, tmp_path):
    """`sunledger report` killed with SIGKILL at moments across its run (gathering,
    rendering in its worker, writing, recording): whatever it recorded has its file, whole,
    with the recorded hash; what it did not record leaves no file named as the report; the
    store still verifies."""
    import hashlib
    import os
    import signal
    import time

    from ledger.audit.verify import StoreSource, verify
    from test_cli import SUNLEDGER

    liling.ledger.checkpoint()
    liling.ledger.close()
    url = liling.raw.url
    key = str(tmp_path / "ledger.key")
    recorded: set[str] = set()
    killed = 0
    for n, delay in enumerate((0.3, 0.8, 1.3, 1.8, 2.5, 4.0, 60.0)):
        out = tmp_path / f"report-{n}.pdf"
        proc = subprocess.Popen([*SUNLEDGER, "report", "--store", url, "--ledger-key", key,
                                 "--project", "LILING-R", "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the command and its render worker
            proc.wait()
            killed += 1
        time.sleep(0.05)
        from ledger.ledger import Ledger

        ledger = Ledger.open(url, clock=liling.clock, key_path=tmp_path / "ledger.key")
        reports = ledger.stream("project:LILING-R").state.reports
        ledger.close()
        for rid, issued in reports.items():
            if rid in recorded:
                continue
            recorded.add(rid)
            assert out.exists(), f"{rid} recorded without its file (killed after {delay} s)"
            assert hashlib.sha256(out.read_bytes()).hexdigest() == issued["pdf_hash"]
    assert killed >= 3 and recorded, (killed, recorded)  # some killed, the last one finished
    assert verify(StoreSource(url), workers=1).intact


def test_refusals_and_rejections_beyond_the_listed_rows_are_counted_by_rule(world, monkeypatch):
    """Both sides of the limit, for the tables of refused actions and rejected bids (the limit
    lowered to this project's size): at the limit each is a row; one more, and they are counted
    by rule and by ground (a crowded tender's are in test_witness_record)."""
    from ledger import errors
    from ledger.procedures.expert_draw import committee_hash, draw, draw_seed
    from witness import model as report_model

    stream = "project:CROWD-1"
    tender = Tender(world, stream, category="construction", method="lowest-price",
                    control="50000000.00", bidders=4, experts=5)
    deadline = cst("2025-06-10T09:30:00")
    tender.run(["41000000.00", "40500000.00", "43900000.00", "42000000.00"], deadline, until="opened")
    late = tender.bidders[0]
    with pytest.raises(errors.ActionRefused):
        tender.at(deadline + timedelta(minutes=10), late.actor, "bid-submitted", bidder=late.actor,
                  bid_hash="f" * 64)
    committee = draw(draw_seed(tender.secret, tender.head), tender.pool, set(), tender.quotas)
    tender.at(deadline + timedelta(minutes=20), "operator-1", "experts-drawn",
              committee=[e.id for e in committee], head_hash=tender.head,
              committee_hash=committee_hash(committee))
    for b, ground in ((tender.bidders[1], "not-qualified"), (tender.bidders[2], "not-qualified")):
        tender.at(deadline + timedelta(hours=1), committee[1].id, "bid-rejected", bidder=b.actor,
                  ground=ground)
    tender.at(deadline + timedelta(hours=3), committee[0].id, "evaluation-reported",
              ranking=world.ledger.procedure.ranking(world.ledger.stream(stream).state)[:3],
              report_hash="e" * 64)
    world.ledger.checkpoint()
    evidence = gather_evidence(world.ledger.recorder, stream, "evaluation")

    def table(title: str, column: str):
        blocks = [s for s in report_model.build(evidence).sections if s.title.endswith(title)][0].blocks
        return [b for b in blocks if getattr(b, "rows", None) and any(column in c.title for c in b.columns)][0]

    monkeypatch.setattr(report_model, "LISTED_AT_MOST", 1)
    listed = table("拒收与拒绝记录", "规则与依据")
    assert len(listed.rows) == 1 and listed.columns[0].title == "时间"
    monkeypatch.setattr(report_model, "LISTED_AT_MOST", 0)
    counted = table("拒收与拒绝记录", "规则与依据")
    assert counted.columns[2].title == "次数" and [r[2] for r in counted.rows] == ["1"]
    monkeypatch.setattr(report_model, "LISTED_AT_MOST", 2)
    assert len(table("评标记录", "否决").rows) == 2
    monkeypatch.setattr(report_model, "LISTED_AT_MOST", 1)
    grounds = table("评标记录", "否决")
    assert grounds.rows == [["投标人不符合资格条件", "2"]]
