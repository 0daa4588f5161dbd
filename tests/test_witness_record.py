"""Witness reports as the record a centre issues and an officer signs (数字见证报告): the demo's
reports read back from their PDFs as a witness officer reads them. Every bidder is named beside
its price, the opening and the evaluation are records, the witness statement is derived from
the events, laws are cited as Chinese documents cite them, and no developer artefact shows."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from ledger.procedures.register import REGISTER, document_number, parse_number
from projections.follower import Follower
from projections.project_state import project_events
from projections.warnings import CollusionWatch
from witness import vocabulary as v
from witness.citations import LAWS, Citer, chinese_number
from witness.model import money
from witness.reports import embedded_evidence, recorded_in_store, verify_report

POPPLER = shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(not POPPLER, reason="poppler-utils missing: ./run setup installs it")
PROJECT = "project:LILING-2025-SZ02"


def text_of(pdf: Path, *options: str) -> str:
    return subprocess.run(["pdftotext", *options, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_run):
    """The demo's store and reports (conftest.py's, run once for the suite), copied for this
    module: a test here takes report numbers in it."""
    out = tmp_path_factory.mktemp("demo")
    for path in demo_run.out.iterdir():
        if path.is_file():
            shutil.copy2(path, out / path.name)
    store = f"sqlite:///{out / 'ledger.db'}"
    from ledger.stores.url import open_recorder, parse_store_url

    recorder = open_recorder(parse_store_url(store))
    events = project_events(recorder, PROJECT)
    reports = {e["payload"]["report_id"]: e["payload"] for e in events
               if e["type"] == "project.report-issued/v1"}
    pdfs = {}
    for path in out.glob(PROJECT.split(":", 1)[1] + "-*.pdf"):  # the tender's (the listings':
        evidence = embedded_evidence(path.read_bytes())  # test_demo_listings.py)
        pdfs[(evidence["kind"], evidence["lang"], evidence.get("edition"))] = path
    actors = {}
    for row in recorder.select_topic_rows("actor.registered/v1", 0, 10_000):
        event = orjson.loads(row[4])
        actors[event["stream"].split(":", 1)[1]] = event["payload"]
    return {"out": out, "store": store, "recorder": recorder, "events": events,
            "reports": reports, "pdfs": pdfs, "actors": actors}


def zh_pdfs(demo) -> list[Path]:
    return [p for (kind, lang, _), p in demo["pdfs"].items() if lang == "zh"]


def section(text: str, title: str) -> str:
    """The text of the numbered section titled `title` (up to the next numbered section)."""
    found = re.search(rf"[一二三四五六七八九十]+、{title}\n(.*?)(?=\n\s*[一二三四五六七八九十]+、\S|\Z)",
                      text, re.S)
    assert found, f"no section {title}"
    return found[1]


def test_every_report_is_numbered_from_the_centres_register_and_verified(demo):
    numbers = [p["report_id"] for p in demo["reports"].values()]
    assert numbers[:4] == [document_number("株交见", 2025, n) for n in range(1, 5)]
    assert numbers[4] == numbers[2] + "（签发版）"  # the signed edition keeps its number
    log = None
    for path in demo["pdfs"].values():
        check = verify_report(path.read_bytes(), log=log,
                              recorded_hashes=recorded_in_store(demo["recorder"], PROJECT))
        assert check.ok, check.fails
        assert parse_number(check.report_id)[0] == 2025
        assert not re.search(r"-v\d", path.name)


def test_the_opening_record_names_every_bidder_beside_its_price(demo):
    text = text_of(demo["pdfs"][("opening", "zh", "draft")], "-layout")
    opening = section(text, "开标记录")
    for label in ("开标时间", "开标地点", "主持人", "记录人", "见证人员", "投标人签到"):
        assert label in opening, label
    assert "2025年3月24日 9时30分" in opening and "不见面开标" in opening
    host = demo["actors"]["operator-zz"]
    recorder = demo["actors"]["recorder-zz"]
    assert host["name"] in opening and recorder["name"] in opening
    decrypted = [e["payload"] for e in demo["events"] if e["type"] == "project.bid-decrypted/v1"]
    assert len(decrypted) == 10
    for bid in decrypted:
        name = demo["actors"][bid["bidder"]]["organisation"]
        lines = [line for line in opening.splitlines() if name + " " in line or line.strip().startswith(name)]
        assert any(money(Decimal(bid["price"])) in line for line in lines), (name, bid["price"])
    failed = [e["payload"]["bidder"] for e in demo["events"] if e["type"] == "project.decryption-failed/v1"]
    for bidder in failed:
        name = demo["actors"][bidder]["organisation"]
        assert any(name in line and "解密失败" in line for line in opening.splitlines())
    # the late bidder, refused, has a row that says why it has no price
    late = demo["actors"]["bidder-12"]["organisation"]
    assert any(late in line and "逾期递交" in line for line in opening.splitlines())
    # the sealed-bid table carries each bidder's CA certificate serial (the demo CA's)
    sealed = section(text, "投标文件递交与投标保证金")
    serials = re.findall(r"\b[0-9a-f]{16}\b", sealed)
    assert len(serials) == 11


def test_no_developer_artefact_shows_in_a_chinese_report(demo):
    codes = set(demo["actors"]) | {"ledger"}
    for path in zh_pdfs(demo):
        text = text_of(path)
        assert "§" not in text, path.name
        assert not re.search(r"\bv\d+\b|-v\d", text), path.name
        assert "sunledger " not in text and "verify-report" not in text, path.name
        assert not re.search(r"\d+/\d+ 名", text), path.name
        assert "m-7f3a" not in text, path.name  # a raw fingerprint stays in the evidence
        shown = {c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)}
        assert not shown, (path.name, shown)
        for word in ("operator", "witness", "registrar", "bidder", "expert", "tenderee"):
            assert word not in text, (path.name, word)
        # the software that made it is stated on the integrity page, not in the front matter
        assert text.index("WeasyPrint") > text.index("完整性与验证")


def test_laws_are_cited_by_their_chinese_titles_and_a_tender_never_cites_procurement_law(demo):
    for path in zh_pdfs(demo):
        text = text_of(path).replace("\n", "")
        cited = re.findall(r"《([^》]+)》第[一二三四五六七八九十百零]+条", text)
        assert cited, path.name
        titles = {full: short for full, short, _ in LAWS.values()}
        shorts = {short: full for full, short in titles.items()}
        seen = set()
        for title in cited:
            assert title in titles or title in shorts, title
            full = title if title in titles else shorts[title]
            if full != titles[full]:  # a law with a short title: full on first use, then short
                assert (title == full) == (full not in seen), (path.name, title)
            seen.add(full)
        assert "政府采购" not in text, path.name
    english = text_of(demo["pdfs"][("full", "en", "draft")])
    assert "Bidding Law, Art. 34" in english and "§" not in english and "《" not in english


def test_the_witness_statement_lists_every_failed_decryption_refusal_and_warning(demo):
    text = text_of(demo["pdfs"][("full", "zh", "draft")])
    statement = section(text, "见证意见").replace("\n", "")
    events = demo["events"]
    for e in events:
        if e["type"] == "project.decryption-failed/v1":
            assert demo["actors"][e["payload"]["bidder"]]["organisation"] + "的投标文件解密失败" in statement
    refusals = project_events(demo["recorder"], "refusal:" + PROJECT.split(":", 1)[1])
    assert refusals  # the tender's (the demo's listings have their own)
    for r in refusals:
        actor = r["payload"]["action"]["actor"]
        assert demo["actors"][actor]["organisation"] + "的“递交投标文件”操作被拒绝" in statement
    watch = CollusionWatch()
    Follower(demo["recorder"], watch).follow()
    warnings = watch.warnings(PROJECT)
    assert warnings
    for w in warnings:
        assert "围标串标预警：" + v.INDICATORS[w.indicator][0] in statement
    assert "报送醴陵市住房和城乡建设局" in statement and "未见异常" not in text


def test_the_committee_is_named_only_after_the_award(demo):
    experts = [a for a, p in demo["actors"].items() if "expert" in p["roles"]]
    evaluation = text_of(demo["pdfs"][("evaluation", "zh", "draft")])
    assert "成员名单保密" in evaluation and "7 人" in evaluation
    assert not any(demo["actors"][e]["name"] in evaluation for e in experts)
    full = section(text_of(demo["pdfs"][("full", "zh", "draft")], "-layout"), "评标委员会")
    drawn = next(e["payload"]["committee"] for e in demo["events"]
                 if e["type"] == "project.experts-drawn/v1")
    for member in drawn:
        line = next(x for x in full.splitlines() if demo["actors"][member]["name"] in x)
        assert ("技术" in line or "经济" in line) and "评标专家库" in line
    record = section(text_of(demo["pdfs"][("full", "zh", "draft")]), "评标记录").replace("\n", "")
    for label in ("评标时间", "评标地点", "评标委员会负责人", "通过评审的投标及报价比较",
                  "投标文件澄清", "全体 7 名成员签字"):
        assert label in record, label


def test_the_signed_edition_carries_the_officers_sign_offs(demo):
    draft = demo["pdfs"][("full", "zh", "draft")]
    signed = demo["pdfs"][("full", "zh", "signed")]
    evidence = embedded_evidence(signed.read_bytes())
    import hashlib

    assert evidence["draft"]["pdf_hash"] == hashlib.sha256(draft.read_bytes()).hexdigest()
    text = section(text_of(signed), "签发")
    for officer in ("witness-zz", "witness-zz2"):
        assert demo["actors"][officer]["name"] in text
    assert "签发" not in "".join(re.findall(r"[一二三四五六七八九十]+、(\S+)", text_of(draft)))


def test_hashes_are_printed_at_seven_points_in_groups(demo):
    words = re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([0-9a-f]{8})<',
                       text_of(demo["pdfs"][("full", "zh", "draft")], "-bbox"))
    assert len(words) > 100
    # poppler's word box is 1.26 times the font size for the monospace face (measured)
    assert min(float(b) - float(a) for a, b, _ in words) / 1.26 >= 6.95


def test_the_qr_code_and_the_verification_page_name_the_centres_address(demo):
    from witness.model import build

    evidence = embedded_evidence(demo["pdfs"][("full", "zh", "signed")].read_bytes())
    model = build(evidence)
    assert model.qr_payload.startswith("https://ggzy.example.gov.cn/sunledger/verify?report=2025-0003-signed&evidence=")
    assert model.qr_payload.rsplit("=", 1)[1] in text_of(demo["pdfs"][("full", "zh", "signed")]).replace("\n", "")


def test_chinese_numbers_and_citations():
    assert [chinese_number(n) for n in (1, 10, 11, 20, 34, 101, 110, 201)] == [
        "一", "十", "十一", "二十", "三十四", "一百零一", "一百一十", "二百零一"]
    cite = Citer()
    assert cite("法 §34") == "《中华人民共和国招标投标法》第三十四条"
    assert cite("法 §34; 条例 §44") == "《招标投标法》第三十四条；《中华人民共和国招标投标法实施条例》第四十四条"
    assert cite("条例 §40(一)") == "《招标投标法实施条例》第四十条第（一）项"
    assert cite("法 §12–§13") == "《招标投标法》第十二条至第十三条"
    assert cite("法 §24; 政采法 §35") == "《招标投标法》第二十四条"  # a tender: its own law only
    procurement = Citer(kind="procurement")
    assert procurement("法 §24; 政采法 §35") == "《中华人民共和国政府采购法》第三十五条"
    english = Citer(zh=False)
    assert english("条例 §39 (signal)") == "Regulation on the Implementation of the Bidding Law, Art. 39 (signal)"
    assert english("条例 §71, §81") == "Bidding Regulation, Arts. 71, 81"
    assert "§" not in cite("a centre's own §5 wording")  # never raises, never prints §


def test_every_article_the_rules_and_warnings_name_is_citable():
    from ledger.procedures.rules import RuleBook
    from witness.citations import UnknownCitation, applicable

    articles = {rule.article for rule in RuleBook.national().rules.values()}
    source = Path(__file__).parent.parent / "projections" / "warnings.py"
    articles |= set(re.findall(r'"((?:条例|法) §[^"]*)"', source.read_text()))
    for article in articles:
        try:
            applicable(article.removesuffix(" (signal)"), "construction")
        except UnknownCitation as error:
            pytest.fail(str(error))


def test_two_issuers_never_take_the_same_report_number(demo, tmp_path):
    from ledger.ledger import Ledger
    from witness.reports import take_number

    first = Ledger.open(demo["store"], key_path=demo["out"] / "ledger.db.ledger-key")
    second = Ledger.open(demo["store"], key_path=demo["out"] / "ledger.db.ledger-key")
    try:
        first.stream(REGISTER), second.stream(REGISTER)  # both have read the register
        a = take_number(first, PROJECT, "full", "zh")
        b = take_number(second, PROJECT, "full", "zh")  # stale: reads again, takes the next
        assert a[1] + 1 == b[1] and a[2] != b[2]
    finally:
        first.close()
        second.close()


def test_the_centre_command_describes_the_register_and_refer_refuses_what_is_no_warning(demo, tmp_path):
    from click.testing import CliRunner

    from api.cli import cli

    for path in demo["out"].glob("ledger.db*"):
        shutil.copy2(path, tmp_path / path.name)
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    runner = CliRunner()
    shown = runner.invoke(cli, ["centre", "--store", store])
    assert shown.exit_code == 0 and "prefix:  株交见" in shown.output and "2025: " in shown.output
    changed = runner.invoke(cli, ["centre", "--store", store, "--prefix", "株公交见"])
    assert changed.exit_code == 0 and "prefix:  株公交见" in changed.output
    assert "centre:  株洲市公共资源交易中心（演示）" in changed.output  # the rest kept
    key = tmp_path / "nobody.key"
    assert runner.invoke(cli, ["keygen", "--out", str(key)]).exit_code == 0
    refused = runner.invoke(cli, ["refer", "--store", store, "--project", "LILING-2025-SZ02",
                                  "--actor", "witness-zz", "--key", str(key),
                                  "--indicator", "looks-odd", "--bidders", "bidder-01",
                                  "--supervisor", "某局"])
    assert refused.exit_code == 2 and "not an indicator" in refused.output
    assert "Traceback" not in refused.output


def test_a_period_the_report_marks_met_is_one_the_ledger_accepted(tmp_path):
    """Simulated projects run through the real procedure: every step they hold was accepted,
    so every period the reports judge (not a tracked deadline of the answering side, which
    may be late) reads 符合. The judgement is the procedure's own, on both sides of it."""
    from datetime import datetime, timedelta, timezone

    from api.simulate import simulate
    from ledger.ledger import Ledger
    from ledger.procedures.tender import Procedure
    from witness.evidence import gather_evidence
    from witness.model import build

    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", key_path=tmp_path / "key")
    simulate(ledger, projects=24, seed=14, batch=20)
    ledger.checkpoint()
    judged = 0
    for row in ledger.recorder.select_topic_rows("project.intake/v1", 0, 1000):
        project = orjson.loads(row[4])["stream"]
        evidence = gather_evidence(ledger.recorder, project, "full")
        for section_ in build(evidence).sections:
            if not section_.title.endswith("法定期限"):
                continue
            for block in section_.blocks:
                for r in getattr(block, "rows", []):
                    if not isinstance(r, str) and r[-1] in ("符合", "不符合"):
                        judged += 1
                        assert r[-1] == "符合", (project, r)
    ledger.close()
    assert judged > 24
    # the procedure's judgement of a publicity, at its boundary (条例 §54: 3 full days)
    procedure = Procedure()
    published = datetime(2025, 3, 25, 1, tzinfo=timezone.utc)  # 9:00 CST, Tuesday
    ends = procedure.publicity_ends(published)
    assert ends == datetime(2025, 3, 28, 16, tzinfo=timezone.utc)  # 28 March 24:00 CST
    assert procedure.publicity_held(published, ends, ends)
    assert not procedure.publicity_held(published, ends - timedelta(seconds=1), None)
    assert not procedure.publicity_held(published, ends, ends - timedelta(seconds=1))


def test_a_report_is_numbered_in_the_year_of_its_ledger_time_not_the_wall_clocks(tmp_path):
    """After a simulation, or with a server whose clock is behind another's, ledger time runs
    ahead of the clock (it never goes back): the number's year is the ledger time's."""
    from datetime import datetime, timezone

    from conftest import MovableClock
    from ledger.ledger import Ledger
    from witness.reports import describe_centre, take_number

    clock = MovableClock()
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", clock=clock,
                         key_path=tmp_path / "key")
    try:
        clock.moment = datetime(2028, 3, 1, tzinfo=timezone.utc)
        describe_centre(ledger, "虚构交易中心", "虚交见", "https://example.invalid/verify")
        clock.moment = datetime(2026, 12, 2, tzinfo=timezone.utc)  # the wall clock, behind
        assert take_number(ledger, "project:X", "full", "zh") == (2028, 1, "虚交见〔2028〕第0001号")
        # at New Year (CST), the sequence starts again
        clock.moment = datetime(2028, 12, 31, 16, tzinfo=timezone.utc)  # 2029-01-01 00:00 CST
        assert take_number(ledger, "project:X", "full", "zh")[:2] == (2029, 1)
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    """A simulated tender of 230 bidders (more than a per-bidder table lists), checkpointed:
    its evidence, and the project's state and refusals as the ledger holds them."""
    from api.simulate import SimulatedClock, Sizes, simulate
    from ledger.ledger import Ledger
    from witness.evidence import gather_evidence

    folder = tmp_path_factory.mktemp("crowded")
    ledger = Ledger.open(f"sqlite:///{folder / 'ledger.db'}", key_path=folder / "key",
                         clock=SimulatedClock())
    simulate(ledger, projects=1, seed=5, batch=50, sizes=Sizes(large_share=1.0, large=(230, 230)))
    from ledger import errors
    from ledger.evidence.keys import SigningKey
    from ledger.evidence.signer import ActorSigner

    for n in range(1, 4):  # bids after the award, refused and recorded
        actor = f"sim5-bidder-{n:04d}"
        late = ActorSigner(actor, SigningKey.derived(b"sunledger-simulation/5", actor))
        with pytest.raises(errors.ActionRefused):
            ledger.submit(late.sign("project:sim5-00001", "project.bid-submitted/v1",
                                    {"bidder": actor, "bid_hash": f"{n:064x}"},
                                    expected_version=ledger.stream_version("project:sim5-00001"),
                                    signed_at=ledger.clock.now()))
    ledger.checkpoint()
    evidence = gather_evidence(ledger.recorder, "project:sim5-00001", "full")
    state = ledger.stream("project:sim5-00001").state
    refusals = ledger.stream("refusal:sim5-00001").version
    ledger.close()
    return evidence, state, refusals


def test_a_crowded_tender_lists_every_bidder_in_the_opening_record_and_sums_up_the_rest(crowded, tmp_path):
    """Above LISTED_AT_MOST bidders, the security, the sealed bids and the compliant bids not
    ranked are summed up (the evidence holds each row; a PDF of thousands of rows costs more
    memory than a command may take), but the opening record, which the law requires, still
    names every bidder beside its price."""
    from witness.model import LISTED_AT_MOST
    from witness.render import render

    crowded, state, _ = crowded
    assert len(state.prices) > LISTED_AT_MOST
    pdf = tmp_path / "crowded.pdf"
    pdf.write_bytes(render(crowded))
    text = text_of(pdf)
    opening = section(text, "开标记录")
    for bidder, price in state.prices.items():
        assert crowded["actors"][bidder]["organisation"] in opening, bidder
        assert money(price) in opening
    bids = section(text, "投标文件递交与投标保证金")
    assert "超过 200 家不逐行印出" in bids and "合计" in bids
    assert "超过 200 项不逐行印出" in bids  # the sealed bids
    evaluation = section(text, "评标记录")
    unranked = [b for b in state.prices if b not in state.rejected and b not in state.ranking]
    assert f"其余 {len(unranked)} 家投标通过评审、未列入推荐" in evaluation
    low = min(state.prices[b] for b in unranked)
    assert money(low) in evaluation.replace("\n", "")
    for n in range(1, len(state.ranking) + 1):
        assert f"推荐第 {n} 名中标候选人" in evaluation
    assert embedded_evidence(pdf.read_bytes()) == crowded  # every row is still in the evidence

