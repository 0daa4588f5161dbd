"""The guides as their readers meet them: every command of the witness officer's and the
supervision body's guides runs as written (taken out of the markdown, placeholders filled,
run by bash), against a real store the demo made. Then what those commands stand on, one
thing at a time: a witness officer's observation and sign-off, who signed a report off,
replay as of a moment in Beijing time, the places an event hash is found, and cosigning a
checkpoint from published files, by a witness that never opens the centre's store."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: `sunledger` is there
SUNLEDGER = [sys.executable, "-c", "from api.cli import main; main()"]
PROJECT = "LILING-2025-SZ02"  # the demo's project
CST = timezone(timedelta(hours=8))


def sunledger(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([*SUNLEDGER, *args], capture_output=True, text=True, timeout=300)
    if check is not None:
        assert done.returncode == check, done.stdout + done.stderr
    return done


def run(*args: str, code: int = 0, stdin: str | bytes | None = None):
    """A command in process: no exception may escape it (a traceback is a failure)."""
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError(f"{args}: an exception escaped: "
                             + "".join(traceback.format_exception(result.exception)))
    assert result.exit_code == code, (args, result.output)
    return result


def beijing(ledger_time: str) -> str:
    moment = datetime.fromisoformat(ledger_time).astimezone(CST)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment.hour:02d}时{moment.minute:02d}分"


# --- the guides' commands ------------------------------------------------------------------

FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


def sh_commands(guide: str) -> list[str]:
    """The command lines of every ```sh block of docs/GUIDE, indented blocks too, in order: a
    line ending in a backslash joined with the next; comment-only and blank lines left out."""
    commands, block, kind = [], None, ""
    for line in (ROOT / "docs" / guide).read_text(encoding="utf-8").splitlines():
        fence = FENCE.match(line)
        if fence and block is None:
            block, kind = [], fence.group(2)
            continue
        if fence:
            if kind == "sh":
                text = "\n".join(block).replace("\\\n", " ")
                commands += [c.strip() for c in text.splitlines()
                             if c.strip() and not c.strip().startswith("#")]
            block = None
            continue
        if block is not None:
            block.append(line)
    return commands


def fill(command: str, values: dict[str, str]) -> str:
    """The placeholders (URL, ID, VKEY …) of a guide's command, as a reader fills them: in
    one pass, so that nothing filled in (a key's base64) is read as a placeholder again."""
    names = "|".join(sorted(map(re.escape, values), key=len, reverse=True))
    return re.sub(rf"(?<![\w])({names})(?![\w])", lambda m: values[m.group(1)], command)


def expected_exit(command: str) -> int:
    said = re.search(r"#\s*exit (\d)", command)
    return int(said.group(1)) if said else 0


@pytest.fixture(scope="module")
def demo(demo_run) -> Path:
    """The demo's folder (conftest.py: run once for the suite): a store (ledger.db and its key
    beside it) with one whole project, its witness reports, and a witness officer's sign-off.
    Read only: tests that write take a copy (the `centre` fixture)."""
    return demo_run.out


@pytest.fixture
def centre(demo, tmp_path) -> Path:
    """A copy of the demo's store and reports: the centre's, to write to."""
    folder = tmp_path / "centre"
    folder.mkdir()
    for path in demo.iterdir():
        if path.name.startswith("ledger.db") or path.suffix == ".pdf":
            shutil.copy2(path, folder / path.name)
    return folder


def url_of(folder: Path) -> str:
    return f"sqlite:///{folder / 'ledger.db'}"


def shell_env(tmp_path: Path) -> dict[str, str]:
    """A reader's shell: `sunledger` on the PATH, no default store to fall back on."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SUNLEDGER_STORE", "SUNLEDGER_LEDGER_KEY")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["SUNLEDGER_HOME"] = str(tmp_path / "no-home")
    return env


def bash(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == expected_exit(command), \
        f"{command}\nexit {done.returncode}\n{done.stdout}{done.stderr}"
    return done


def full_reports(folder: Path) -> tuple[Path, Path]:
    """The demo's full report as issued (not a signed edition), in Chinese and in English,
    known by the evidence each carries."""
    from witness.reports import embedded_evidence

    found: dict[str, Path] = {}
    for pdf in sorted(folder.glob("*.pdf")):
        evidence = embedded_evidence(pdf.read_bytes())
        if evidence["kind"] == "full" and evidence.get("edition") != "signed":
            found.setdefault(evidence.get("lang", "zh"), pdf)
    return found["zh"], found["en"]


def issued_id(url: str, pdf: Path) -> str:
    """The id the ledger recorded when it issued this PDF."""
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    issued, = (e["payload"]["report_id"] for e in events_of(url)
               if e["type"] == "project.report-issued/v1" and e["payload"]["pdf_hash"] == digest)
    return issued


def events_of(url: str, stream: str = f"project:{PROJECT}") -> list[dict]:
    from ledger.stores.url import open_recorder, parse_store_url
    from projections.project_state import project_events

    return project_events(open_recorder(parse_store_url(url)), stream)


def test_the_witness_officer_guide_runs_as_written(centre, tmp_path):
    commands = sh_commands("guide-witness-officer.md")
    for expected in ("sunledger keygen", "sunledger actor register", "sunledger actor add-key",
                     "sunledger observe", "sunledger sign-off", "sunledger verify-report",
                     "sunledger report", "sunledger refer"):
        assert any(c.startswith(expected) for c in commands), expected
    url, work = url_of(centre), tmp_path / "work"
    work.mkdir()
    recording = os.urandom(3 << 20)  # the officer's recording of the opening
    (work / "opening.mp4").write_bytes(recording)
    values = {"URL": url, "ID": PROJECT,
              "VKEY": sunledger("log-key", "--store", url).stdout.strip()}
    env = shell_env(tmp_path)
    said: list[tuple[str, str]] = []  # (the guide's command, what it printed)
    for template in commands:
        done = bash(fill(template, values), work, env)
        said.append((template, done.stdout))
        if template.startswith("sunledger keygen"):
            values["PUBLIC_KEY"] = re.search(r"public key: (\S+)", done.stdout).group(1)

    observation = next(out for c, out in said if c.startswith("sunledger observe"))
    assert observation.startswith(f"recorded the observation of witness-li on project:{PROJECT}\n")
    media = hashlib.sha256(recording).hexdigest()
    assert f"  media SHA-256:  {media}\n" in observation
    recorded = [e for e in events_of(url) if e["type"] == "project.witness-observation/v1"
                and e["actor"] == "witness-li"]
    assert len(recorded) == 1 and recorded[0]["payload"] == {
        "note": "开标过程经音视频全程记录；11 家投标人在线签到，10 家在时限内完成解密。", "media_hash": media}
    assert f"  version (序号): {recorded[0]['version']}\n" in observation
    assert f"  event hash:     {recorded[0]['hash']}\n" in observation
    assert (f"  ledger time:    {beijing(recorded[0]['ledger_time'])} 北京时间 "
            f"({recorded[0]['ledger_time']})") in observation

    pdf = work / f"{PROJECT}-full.pdf"
    signed = [e for e in events_of(url) if e["type"] == "project.report-signed-off/v1"
              and e["actor"] == "witness-li"]
    assert len(signed) == 1
    assert signed[0]["payload"]["pdf_hash"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    sign_off = next(out for c, out in said if c.startswith("sunledger sign-off"))
    assert sign_off.startswith(f"李伟（虚构） (株洲市公共资源交易中心见证室（虚构）, witness-li) "
                               f"signed off report {signed[0]['payload']['report_id']} of "
                               f"project:{PROJECT}\n")
    line = (f"  signed off: 李伟（虚构） (株洲市公共资源交易中心见证室（虚构）, witness-li) at "
            f"{beijing(signed[0]['ledger_time'])}")
    checked = [(c, out) for c, out in said if c.startswith("sunledger verify-report")]
    first = next((c, out) for c, out in said
                 if c.startswith(("sunledger verify-report", "sunledger sign-off")))
    assert first[0].startswith("sunledger verify-report")  # checked before it is signed off
    assert "  signed off: no sign-off recorded for this PDF yet\n" in first[1]
    for command, out in checked[1:]:
        if "--store" in command or "--bundle" in command:
            assert line + "\n" in out, command
        else:
            assert "  not checked: who signed it off (give --store or --bundle)\n" in out
    assert "INTACT" in sunledger("verify", "--store", url).stdout


def test_the_supervision_guide_runs_as_written(centre, tmp_path):
    """Every command of the guide, the centre's with its store and the supervision body's
    without: the witness cosigns from the checkpoint and proof the centre published, with
    the store out of its reach (no --store, no default store), and the store unchanged by it."""
    commands = sh_commands("guide-supervision.md")
    url, work = url_of(centre), tmp_path / "work"
    work.mkdir()
    inclusion = json.loads(sunledger("prove", "inclusion", "--store", url, "--event",
                                     f"project:{PROJECT}:3").stdout)
    values = {"URL": url, "ID": PROJECT,
              "VKEY": sunledger("log-key", "--store", url).stdout.strip(),
              "HEX": inclusion["event_hash"],
              "LEDGER_KEY_ID": json.loads(sunledger("verify", "--store", url,
                                                    "--json").stdout)["ledger_key_id"]}
    env = shell_env(tmp_path)
    store_files = lambda: {p.name: p.read_bytes() for p in centre.glob("ledger.db*")}  # noqa: E731
    witness_steps = 0
    for template in commands:
        command = fill(template, values)
        if template.startswith("sunledger witness") and "--store" not in template:
            witness_steps += 1
            before = store_files()
            done = bash(command, work, env)
            assert store_files() == before, command
        else:
            done = bash(command, work, env)
        if template.startswith("sunledger witness init"):
            values["WITNESS_VKEY"] = done.stdout.strip()
        if template.startswith("sunledger witness logs"):
            values["N"] = re.search(r"cosigned up to size (\d+)", done.stdout).group(1)
        if template.startswith("sunledger witness add-checkpoint"):
            assert (work / "cosignature.txt").read_text().startswith(
                "\u2014 jgj.example.gov.cn/witness ")
        if template.startswith("sunledger checkpoint --store URL --add-cosignature"):
            size = int((work / "checkpoint.txt").read_text().split("\n")[1])
            assert f"on the checkpoint of size {size} " in done.stdout
    assert witness_steps >= 4  # init, add-log, logs, add-checkpoint
    assert values["N"] == "0"
    cosigned = json.loads(sunledger("verify", "--store", url, "--json").stdout)
    assert cosigned["intact"] and values["WITNESS_VKEY"] in cosigned["cosigned_by"]


# --- a witness officer's observation and sign-off -------------------------------------------

def officer(tmp_path: Path, url: str, actor: str = "witness-wang", role: str = "witness",
            assign: bool = True) -> Path:
    """An actor of the centre with a key of its own, made and registered as the guide says
    (and a witness officer assigned to the demo's project, unless not `assign`)."""
    key = tmp_path / f"{actor}.key"
    out = run("keygen", "--out", str(key)).stdout
    run("actor", "register", "--store", url, "--id", actor, "--name", f"王芳（虚构 {actor}）",
        "--organisation", "株洲市公共资源交易中心见证室（虚构）", "--role", role)
    run("actor", "add-key", "--store", url, "--id", actor, "--public-key",
        re.search(r"public key: (\S+)", out).group(1))
    if role == "witness" and assign:  # the centre assigns the officer to the project
        run("assign-witness", "--store", url, "--project", PROJECT, "--officer", actor)
    return key


def test_an_observation_takes_either_form_of_the_project_and_of_the_media(centre, tmp_path):
    url = url_of(centre)
    key = officer(tmp_path, url)
    digest = hashlib.sha256(b"recording").hexdigest()
    out = run("observe", "--store", url, "--project", f"project:{PROJECT}", "--actor",
              "witness-wang", "--key", str(key), "--note", "评标区域音视频正常",
              "--media-hash", digest.upper()).stdout
    assert f"recorded the observation of witness-wang on project:{PROJECT}" in out
    (tmp_path / "clip.mp4").write_bytes(b"x" * 3_000_001)
    run("observe", "--store", url, "--project", PROJECT, "--actor", "witness-wang", "--key",
        str(key), "--note", "第二段", "--media", str(tmp_path / "clip.mp4"))
    run("observe", "--store", url, "--project", PROJECT, "--actor", "witness-wang", "--key",
        str(key), "--note", "无录像")
    payloads = [e["payload"] for e in events_of(url)
                if e["type"] == "project.witness-observation/v1" and e["actor"] == "witness-wang"]
    assert payloads == [{"note": "评标区域音视频正常", "media_hash": digest},
                        {"note": "第二段", "media_hash": hashlib.sha256(b"x" * 3_000_001).hexdigest()},
                        {"note": "无录像"}]


def test_only_a_witness_officer_may_observe_and_the_refusal_is_recorded(centre, tmp_path):
    url = url_of(centre)
    key = officer(tmp_path, url, "bidder-x", "bidder")
    done = run("observe", "--store", url, "--project", PROJECT, "--actor", "bidder-x", "--key",
               str(key), "--note", "我也看见了", code=2)
    assert "who-may-act" in done.stderr and f"recorded, signed by the ledger, in refusal:{PROJECT}" \
        in done.stderr
    refused = events_of(url, f"refusal:{PROJECT}")
    assert refused[-1]["payload"]["action"]["actor"] == "bidder-x"
    assert not [e for e in events_of(url) if e["actor"] == "bidder-x"]


def test_an_observation_refuses_bad_input_with_a_message(centre, tmp_path):
    url = url_of(centre)
    key = officer(tmp_path, url)
    base = ["observe", "--store", url, "--actor", "witness-wang", "--key", str(key)]
    (tmp_path / "clip.mp4").write_bytes(b"clip")
    for args, message in [
        (["--project", PROJECT, "--note", "x", "--media", str(tmp_path / "clip.mp4"),
          "--media-hash", "0" * 64], "at most one of --media and --media-hash"),
        (["--project", PROJECT, "--note", "x", "--media-hash", "abc"], "64 hex digits"),
        (["--project", PROJECT, "--note", "x", "--media", str(tmp_path / "none.mp4")],
         "does not exist"),
        (["--project", "NO-SUCH-PROJECT", "--note", "x"], "project:NO-SUCH-PROJECT has no events"),
        (["--project", PROJECT, "--note", ""], "payload.note"),
        (["--project", PROJECT], "Missing option '--note'"),
    ]:
        done = run(*base, *args, code=2)
        assert message in done.output, (args, done.output)
    run("observe", "--store", url, "--project", PROJECT, "--actor", "witness-wang", "--key",
        str(tmp_path / "missing.key"), "--note", "x", code=2)
    key.chmod(0o644)
    done = run(*base, "--project", PROJECT, "--note", "x", code=2)
    assert "can be read by others" in done.stderr
    key.chmod(0o600)
    done = run("observe", "--store", url, "--project", PROJECT, "--actor", "witness-zhao",
               "--key", str(key), "--note", "x", code=2)  # a key of someone else's
    assert "witness-zhao" in done.stderr
    done = run("observe", "--store", f"sqlite:///{tmp_path / 'none.db'}", "--project", PROJECT,
               "--actor", "witness-wang", "--key", str(key), "--note", "x", code=2)
    assert "sunledger init" in done.stderr and not (tmp_path / "none.db").exists()


def test_a_sign_off_is_of_an_issued_pdf_once_per_officer(centre, tmp_path):
    url = url_of(centre)
    key = officer(tmp_path, url)
    zh, en = full_reports(centre)
    base = ["sign-off", "--store", url, "--actor", "witness-wang", "--key", str(key)]
    # the same report with a comment after its end: it reads the same, but it is another PDF
    (tmp_path / "changed.pdf").write_bytes(zh.read_bytes() + b"% changed\n")
    done = run(*base, str(tmp_path / "changed.pdf"), code=2)
    assert "the sign-off is for a report that was not issued" in done.stderr
    assert f"refusal:{PROJECT}" in done.stderr
    (tmp_path / "notes.pdf").write_text("not a pdf")
    assert "not a readable PDF" in run(*base, str(tmp_path / "notes.pdf"), code=2).stderr
    out = run(*base, str(zh)).stdout
    rid = issued_id(url, zh)
    assert out.startswith(f"王芳（虚构 witness-wang） (株洲市公共资源交易中心见证室（虚构）, "
                          f"witness-wang) signed off report {rid} of project:{PROJECT}\n")
    assert f"  PDF SHA-256:    {hashlib.sha256(zh.read_bytes()).hexdigest()}\n" in out
    done = run(*base, str(zh), code=2)
    assert "witness-wang signed this report off already" in done.stderr
    signed = [e for e in events_of(url) if e["type"] == "project.report-signed-off/v1"
              and e["actor"] == "witness-wang"]
    assert [e["payload"] for e in signed] == [{"report_id": rid, "pdf_hash":
                                               hashlib.sha256(zh.read_bytes()).hexdigest()}]
    assert f"  version (序号): {signed[0]['version']}\n" in out
    assert f"  event hash:     {signed[0]['hash']}\n" in out
    assert f"  ledger time:    {beijing(signed[0]['ledger_time'])} 北京时间" in out

    # who signed it off, as verify-report says with a store, a bundle, or neither
    line = (f"  signed off: 王芳（虚构 witness-wang） (株洲市公共资源交易中心见证室（虚构）, "
            f"witness-wang) at {beijing(signed[0]['ledger_time'])}\n")
    by_store = run("verify-report", str(zh), "--store", url).stdout
    assert line in by_store and "FAILS" not in by_store
    run("export", "--store", url, "--out", str(tmp_path / "b.zip"))
    by_bundle = run("verify-report", str(zh), "--bundle", str(tmp_path / "b.zip")).stdout
    assert [l for l in by_bundle.splitlines() if "signed off:" in l] == \
        [l for l in by_store.splitlines() if "signed off:" in l]
    for source in (["--store", url], ["--bundle", str(tmp_path / "b.zip")]):
        assert "  signed off: no sign-off recorded for this PDF yet\n" in \
            run("verify-report", str(en), *source).stdout
    alone = run("verify-report", str(zh)).stdout  # what it checked holds: exit 0
    assert "  not checked: who signed it off (give --store or --bundle)\n" in alone
    assert "  not checked: whether the ledger issued this PDF (give --store or --bundle)\n" in alone
    assert "signed off:" not in alone


# --- replay as of a moment -----------------------------------------------------------------

def test_replay_takes_a_time_with_or_without_an_offset(demo):
    url = url_of(demo)
    events = events_of(url)
    instant = "2025-03-24T01:30:00.000000Z"
    expected = max(e["version"] for e in events if e["ledger_time"] <= instant)
    forms = ["2025-03-24T09:30+08:00", "2025-03-24T01:30:00Z", "2025-03-24 09:30",
             "2025-03-24T09:30:00", instant]
    for at in forms:
        out = run("replay", "--store", url, "--project", PROJECT, "--at", at).stdout
        assert ("as of:         2025-03-24 09:30:00 Beijing time (UTC+8) = "
                "2025-03-24T01:30:00.000000Z (UTC)\n") in out, at
        assert f"version:       {expected}\n" in out, at
        result = json.loads(run("replay", "--store", url, "--project", PROJECT, "--at", at,
                                "--json").stdout)
        assert result["as_of"] == {"utc": instant, "beijing": "2025-03-24T09:30:00+08:00"}
        assert result["version"] == expected
    later = "2025-03-24T09:30:00.000000Z"  # 09:30 UTC is 17:30 in Beijing: not the same moment
    out = run("replay", "--store", url, "--project", PROJECT, "--at", "2025-03-24T09:30Z").stdout
    assert f"version:       {max(e['version'] for e in events if e['ledger_time'] <= later)}\n" in out
    out = run("replay", "--store", url, "--project", PROJECT, "--at", "12").stdout
    assert "as of:         version 12 (序号)\n" in out and "version:       12\n" in out
    assert "as of:" not in run("replay", "--store", url, "--project", PROJECT).stdout
    assert "China Standard Time" in run("replay", "--help").stdout


@pytest.mark.parametrize("at", ["yesterday", "2025-13-01 09:00", "2025-03-24T09:30+25:00",
                                "9" * 40, "２０２５-03-24 09:30", "2025-03-24", "0001-01-01T00:00",
                                "2025-03-24T09:30:00.1234567Z", "-3"])
def test_replay_refuses_a_bad_moment_with_a_message(demo, at):
    done = run("replay", "--store", url_of(demo), "--project", PROJECT, "--at", at, code=2)
    assert "--at" in done.output and "Traceback" not in done.output


# --- proofs: both forms of a project, and where an event hash is found ------------------------

def test_completeness_takes_a_project_id_or_its_stream_name(demo):
    url = url_of(demo)
    plain = json.loads(run("prove", "completeness", "--store", url, "--project", PROJECT).stdout)
    named = json.loads(run("prove", "completeness", "--store", url, "--project",
                           f"project:{PROJECT}").stdout)
    assert plain == named and plain["stream"] == f"project:{PROJECT}"


def test_check_proof_names_where_the_event_hash_is_and_each_place_holds_it(demo, tmp_path):
    url = url_of(demo)
    helped = run("check-proof", "--help").stdout
    for place in ("prove inclusion", "事件哈希", "--steps --json", "receipt"):
        assert place in " ".join(helped.split()), place
    tlog = tmp_path / "bid.tlog-proof"
    tlog.write_text(run("prove", "inclusion", "--store", url, "--event", f"project:{PROJECT}:3",
                        "--tlog-proof").stdout)
    log_key = run("log-key", "--store", url).stdout.strip()
    done = run("check-proof", str(tlog), "--log-key", log_key, code=2)
    assert "--event-hash" in done.output and "prove inclusion --event" in done.output \
        and "replay --project ID --steps --json" in done.output
    # every place the message names holds the same hash, and the proof holds with it
    inclusion = json.loads(run("prove", "inclusion", "--store", url, "--event",
                               f"project:{PROJECT}:3").stdout)["event_hash"]
    steps = json.loads(run("replay", "--store", url, "--project", PROJECT, "--steps",
                           "--json").stdout)["steps"]
    completeness = json.loads(run("prove", "completeness", "--store", url, "--project",
                                  PROJECT).stdout)["events"]
    assert steps[2]["version"] == 3
    assert inclusion == steps[2]["hash"] == json.loads(completeness[2])["hash"]
    assert run("check-proof", str(tlog), "--log-key", log_key, "--event-hash",
               inclusion).stdout.startswith("holds")


# --- cosigning from published files --------------------------------------------------------

@pytest.fixture
def published(tmp_path):
    """A new store (the centre's) and a witness following its log, in a folder of its own."""
    url = f"sqlite:///{tmp_path / 'centre' / 'ledger.db'}"
    run("init", "--store", url, "--origin", "ledger.example.gov.cn/2025")
    jgj = tmp_path / "jgj"
    jgj.mkdir()
    state = str(jgj / "w.json")
    vkey = run("witness", "init", "--state", state, "--name", "jgj.example/witness").stdout.strip()
    run("witness", "add-log", "--state", state, "--log-key",
        run("log-key", "--store", url).stdout.strip())
    return url, state, vkey, tmp_path


def publish(url: str, folder: Path, old: int, new: int | None = None) -> tuple[Path, Path]:
    note = run("checkpoint", "--store", url).stdout
    size = int(note.split("\n")[1]) if new is None else new
    (folder / "checkpoint.txt").write_text(note)
    (folder / "consistency.json").write_text(
        run("prove", "consistency", "--store", url, "--old", str(old), "--new", str(size)).stdout)
    return folder / "checkpoint.txt", folder / "consistency.json"


def test_a_witness_cosigns_rounds_from_published_files_and_the_centre_records_them(published):
    url, state, vkey, tmp_path = published
    for round_, old in enumerate((0, 1, 2)):
        if round_:
            run("actor", "register", "--store", url, "--id", f"w{round_}", "--name", "n",
                "--organisation", "o", "--role", "witness")
            run("checkpoint", "--store", url, "--issue")
        assert f"cosigned up to size {old} " in run("witness", "logs", "--state", state).stdout
        checkpoint, proof = publish(url, tmp_path, old)
        line = run("witness", "add-checkpoint", "--state", state, "--checkpoint",
                   str(checkpoint), "--proof", str(proof)).stdout
        assert line.startswith("\u2014 jgj.example/witness ") and line.count("\n") == 1
        size = int(checkpoint.read_text().split("\n")[1])
        recorded = run("checkpoint", "--store", url, "--add-cosignature", "-", "--witness-key",
                       vkey, stdin=line).stdout
        assert f"recorded the cosignature of jgj.example/witness on the checkpoint of size {size}" \
            in recorded
        assert run("checkpoint", "--store", url).stdout == checkpoint.read_text() + line
    report = json.loads(sunledger("verify", "--store", url, "--json").stdout)
    assert report["intact"] and report["cosigned_by"] == [vkey]


def test_a_cosignature_is_recorded_over_the_checkpoint_it_signs_even_when_newer_ones_came(published):
    url, state, vkey, tmp_path = published
    checkpoint, proof = publish(url, tmp_path, 0)
    line = run("witness", "add-checkpoint", "--state", state, "--checkpoint", str(checkpoint),
               "--proof", str(proof)).stdout
    for n in range(2):  # the centre goes on meanwhile
        run("actor", "register", "--store", url, "--id", f"later-{n}", "--name", "n",
            "--organisation", "o", "--role", "bidder")
    (tmp_path / "cosignature.txt").write_text(line)
    out = run("checkpoint", "--store", url, "--add-cosignature", str(tmp_path / "cosignature.txt"),
              "--witness-key", vkey).stdout
    assert "on the checkpoint of size 1 " in out


def test_what_a_witness_is_given_is_checked(published):
    url, state, vkey, tmp_path = published
    checkpoint, proof = publish(url, tmp_path, 0)
    before = Path(state).read_text()
    base = ["witness", "add-checkpoint", "--state", state]
    assert "go together" in run(*base, "--checkpoint", str(checkpoint), code=2).output
    assert "not both" in run(*base, str(checkpoint), "--checkpoint", str(checkpoint), "--proof",
                             str(proof), code=2).output
    run("actor", "register", "--store", url, "--id", "x", "--name", "n", "--organisation", "o",
        "--role", "bidder")
    run("checkpoint", "--store", url, "--issue")
    newer = run("checkpoint", "--store", url).stdout
    (tmp_path / "newer.txt").write_text(newer)
    done = run(*base, "--checkpoint", str(tmp_path / "newer.txt"), "--proof", str(proof), code=2)
    assert "the proof is to size 1, the checkpoint is of size 2" in done.stderr
    assert "--old 0 --new 2" in done.stderr
    (tmp_path / "junk.json").write_text('{"old_size": 0}')
    assert "not a consistency proof" in run(*base, "--checkpoint", str(tmp_path / "newer.txt"),
                                            "--proof", str(tmp_path / "junk.json"), code=2).stderr
    (tmp_path / "cosigned.txt").write_text(run(*base, "--checkpoint", str(checkpoint), "--proof",
                                               str(proof)).stdout)
    # a proof from a size the witness did not cosign last: refused, naming the size to ask for
    _, stale = publish(url, tmp_path, 0)
    done = run(*base, "--checkpoint", str(tmp_path / "checkpoint.txt"), "--proof", str(stale),
               code=1)
    assert "last cosigned size 1" in done.stderr and "prove consistency from 1" in done.stderr
    assert Path(state).read_text() != before  # only the accepted cosignature moved it
    # a request in the tlog-witness form, on stdin, as before
    checkpoint, proof = publish(url, tmp_path, 1)
    hashes = json.loads(proof.read_text())["hashes"]
    request = "old 1\n" + "".join(h + "\n" for h in hashes) + "\n" + checkpoint.read_text()
    assert run(*base, stdin=request).stdout.startswith("\u2014 jgj.example/witness ")


def test_the_centre_records_only_a_cosignature_that_verifies(published):
    url, state, vkey, tmp_path = published
    checkpoint, proof = publish(url, tmp_path, 0)
    line = run("witness", "add-checkpoint", "--state", state, "--checkpoint", str(checkpoint),
               "--proof", str(proof)).stdout
    other = str(tmp_path / "other.json")
    other_key = run("witness", "init", "--state", other, "--name", "jgj.example/witness").stdout.strip()
    (tmp_path / "line.txt").write_text(line)
    add = ["checkpoint", "--store", url, "--add-cosignature", str(tmp_path / "line.txt")]
    assert "not by the witness key" in run(*add, "--witness-key", other_key, code=2).stderr
    log_key = run("log-key", "--store", url).stdout.strip()
    assert "not a witness's (cosignature/v1) key" in run(*add, "--witness-key", log_key,
                                                         code=2).stderr
    assert "go together" in run(*add, code=2).output
    assert "one of --issue and --add-cosignature" in run(*add, "--witness-key", vkey, "--issue",
                                                         code=2).output
    import base64

    head, _, encoded = line.rstrip("\n").rpartition(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1  # the signature changed, the witness's name and key hash as they were
    (tmp_path / "changed.txt").write_text(f"{head} {base64.b64encode(raw).decode()}\n")
    done = run("checkpoint", "--store", url, "--add-cosignature", str(tmp_path / "changed.txt"),
               "--witness-key", vkey, code=2)
    assert "verifies over no checkpoint this store keeps" in done.stderr
    (tmp_path / "empty.txt").write_text("cosigned, I promise\n")
    assert "holds no cosignature line" in run("checkpoint", "--store", url, "--add-cosignature",
                                              str(tmp_path / "empty.txt"), "--witness-key", vkey,
                                              code=2).output
    # a line over another log's checkpoint (another centre's store) verifies over none of these
    other_url = f"sqlite:///{tmp_path / 'other' / 'ledger.db'}"
    run("init", "--store", other_url, "--origin", "ledger.example.gov.cn/2025")
    done = run("checkpoint", "--store", other_url, "--add-cosignature", str(tmp_path / "line.txt"),
               "--witness-key", vkey, code=2)
    assert "verifies over no checkpoint" in done.stderr
    assert "jgj.example" not in run("checkpoint", "--store", url).stdout  # nothing recorded
    assert "jgj.example" not in run("checkpoint", "--store", other_url).stdout


def test_witness_cosign_on_a_store_it_cannot_write_prints_the_line_for_the_centre(published):
    """A copy of the store the witness may read but not write (made immutable, which binds
    root too): it cosigns, prints the line, says it could not leave it (exit 2); the centre
    records the line from that output."""
    url, state, vkey, tmp_path = published
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy2(tmp_path / "centre" / "ledger.db", copy / "ledger.db")
    if subprocess.run(["chattr", "+i", str(copy / "ledger.db")], capture_output=True).returncode:
        pytest.skip("chattr +i is not permitted here: no file the witness cannot write")
    try:
        done = run("witness", "cosign", "--state", state, "--store", f"sqlite:///{copy / 'ledger.db'}",
                   code=2)
    finally:
        subprocess.run(["chattr", "-i", str(copy / "ledger.db")], check=True)
    assert done.stdout.startswith("cosigned ledger.example.gov.cn/2025 at size 1\n\u2014 jgj.example/witness ")
    assert "could not be left in the store" in done.stderr and "--add-cosignature" in done.stderr
    run("checkpoint", "--store", url, "--add-cosignature", "-", "--witness-key", vkey,
        stdin=done.stdout)
    assert json.loads(sunledger("verify", "--store", url, "--json").stdout)["cosigned_by"] == [vkey]


# --- hostile input to the new commands: a message and exit 2, never a traceback -------------

HOSTILE = {
    "empty": b"", "junk": bytes(range(256)) * 40, "nonutf8": b"\xff\xfe\xfa \xc3\x28",
    "deep": b"[" * 100_000, "huge": b"a" * 3_000_000, "wrong-types": b'{"old_size": "0", '
    b'"new_size": 1, "hashes": [1]}', "negative": b'{"old_size": -1, "new_size": 1, "hashes": []}',
    "bad-hash": b'{"old_size": 0, "new_size": 1, "hashes": ["AAAA"]}',
    "many": json.dumps({"old_size": 0, "new_size": 1,
                        "hashes": ["A" * 43 + "="] * 64}).encode(),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_with_a_message(published, name):
    url, state, vkey, tmp_path = published
    checkpoint, proof = publish(url, tmp_path, 0)
    bad = tmp_path / f"{name}.bin"
    bad.write_bytes(HOSTILE[name])
    key = officer(tmp_path, url, assign=False)  # a store without the demo's project
    for args in (
        ["sign-off", "--store", url, "--actor", "witness-wang", "--key", str(key), str(bad)],
        ["witness", "add-checkpoint", "--state", state, "--checkpoint", str(checkpoint),
         "--proof", str(bad)],
        ["witness", "add-checkpoint", "--state", state, "--checkpoint", str(bad), "--proof",
         str(proof)],
        ["checkpoint", "--store", url, "--add-cosignature", str(bad), "--witness-key", vkey],
        ["check-proof", str(bad), "--log-key", run("log-key", "--store", url).stdout.strip()],
    ):
        if args[0] == "check-proof":  # a verdict, or a refusal unread
            result = CliRunner().invoke(cli, args)
            assert result.exception is None or isinstance(result.exception, SystemExit), \
                result.exception
            assert result.exit_code in (1, 2) and result.output.strip(), result.output
            continue
        done = run(*args, code=2)
        assert done.output.strip(), args
    assert "cosigned up to size 0 " in run("witness", "logs", "--state", state).stdout


def test_the_new_commands_refuse_a_missing_store_and_create_nothing(demo, tmp_path):
    missing = tmp_path / "no" / "ledger.db"
    url = f"sqlite:///{missing}"
    run("keygen", "--out", str(tmp_path / "k.key"))
    zh, _ = full_reports(demo)
    (tmp_path / "line.txt").write_text("\u2014 w.example/witness AAAA\n")
    witness_key = run("witness", "init", "--state", str(tmp_path / "w.json"), "--name",
                      "w.example/witness").stdout.strip()
    for args in (["sign-off", "--store", url, "--actor", "w", "--key", str(tmp_path / "k.key"),
                  str(zh)],
                 ["observe", "--store", url, "--project", "P", "--actor", "w", "--key",
                  str(tmp_path / "k.key"), "--note", "x"],
                 ["checkpoint", "--store", url, "--add-cosignature", str(tmp_path / "line.txt"),
                  "--witness-key", witness_key]):
        done = run(*args, code=2)
        assert done.output.strip()
    assert not missing.parent.exists()
