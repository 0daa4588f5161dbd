"""Witnessing over HTTP (C2SP tlog-witness): a witness served by `sunledger witness serve` in a
process of its own, and ledger servers that push it their checkpoints in the background, on
real SQLite and PostgreSQL stores. The checkpoint gets cosigned and the cosignature lands in
the store; a witness that is down neither blocks nor fails an append, is retried with backoff
and catches up; a witness that refuses is reported; every answer of /add-checkpoint has the
status and content type tlog-witness gives it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.http import app as app_module
from api.http.app import create_app
from api.http.witness_push import PushTiming
from ledger.evidence.canonical import parse_time
from ledger.evidence.envelope import LEDGER_ACTOR, actor_stream
from ledger.evidence.keys import SigningKey, read_private_key, write_private_key
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from ledger.log.checkpoints import Checkpoint, CheckpointPolicy, latest_checkpoint, log_verifier_key
from ledger.log.cosigning import AddCheckpoint, Witness
from ledger.log.notes import cosignature_time, parse_verifier_key, sign_note, split_note
from ledger.log.tree import StoredLog
from servers import STOPPED_GRACEFULLY, free_port, ledger_server

SUNLEDGER = [sys.executable, "-c", "from api.cli import main; main()"]
ORIGIN = "sunledger.test/witness-http"
WITNESS = "jgj.test/witness"
FAST = PushTiming(poll=0.05, first=0.1, cap=0.4, timeout=5.0)


# --- the witness process --------------------------------------------------------------------

def make_witness(folder: Path, log_key: str | None, name: str = WITNESS) -> tuple[Path, str]:
    """A witness's state and key (following the log of `log_key`, if given); its verifier key."""
    state = folder / f"{name.replace('/', '_')}.json"
    Witness.create(state, name)
    write_private_key(state.with_name(state.name + ".key"), SigningKey.generate())
    witness = Witness(state, read_private_key(state.with_name(state.name + ".key")))
    if log_key:
        witness.add_log(log_key)
    return state, witness.verifier_key


class WitnessProcess:
    """`sunledger witness serve` in a process of its own."""

    def __init__(self, state: Path, port: int = 0):
        self.out, self.err = (state.with_name(f"{state.stem}-{port}-{time.time_ns()}.{kind}")
                              for kind in ("out", "err"))
        with open(self.out, "w") as out, open(self.err, "w") as err:  # files: never a full pipe
            self.process = subprocess.Popen(
                [*SUNLEDGER, "witness", "serve", "--state", str(state), "--port", str(port)],
                stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + 30
        while len(lines := self.out.read_text().splitlines()) < 2:
            assert time.monotonic() < deadline and self.process.poll() is None, \
                self.err.read_text()
            time.sleep(0.05)
        first, self.key_line = lines[:2]
        assert first.startswith(f"sunledger: witness {WITNESS} at http://127.0.0.1:"), first
        self.url = first.split(" at ", 1)[1].split("/ ", 1)[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        while True:  # the socket is bound before the address is printed; the app follows
            try:
                if httpx.get(self.url + "/add-checkpoint", timeout=1).status_code == 405:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and self.process.poll() is None, "no witness"
            time.sleep(0.05)

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return self.process.returncode, self.err.read_text()


@pytest.fixture
def served():
    """Start witnesses; every one still running is stopped (and must stop cleanly) at the end."""
    started: list[WitnessProcess] = []

    def start(state: Path, port: int = 0) -> WitnessProcess:
        started.append(WitnessProcess(state, port))
        return started[-1]

    yield start
    for witness in started:
        if witness.process.poll() is None:
            code, err = witness.stop()
            assert code == 0 and "Traceback" not in err, err


# --- the ledger and its server --------------------------------------------------------------

class Log:
    """A store with a started ledger, its key file and its verifier key."""

    def __init__(self, url: str, key: Path):
        self.url, self.key = url, key
        ledger = Ledger.open(url, key_path=key, origin=ORIGIN)
        self.vkey = log_verifier_key(ledger.origin, ledger.key.public_key)
        ledger.close()
        self.signer = ActorSigner(LEDGER_ACTOR, read_private_key(key))
        self.actors = 0

    def open(self) -> Ledger:
        """The ledger as a server opens it: a checkpoint after every append."""
        return Ledger.open(self.url, key_path=self.key, create=False,
                           checkpoints=CheckpointPolicy(every_events=1))

    def app(self, witnesses, timing: PushTiming = FAST):
        return create_app(self.open, witnesses, timing)

    def action(self) -> dict:
        """A signed action of the ledger's own: registering a new (fictional) actor."""
        self.actors += 1
        actor = f"bidder-{os.getpid()}-{self.actors}"
        return self.signer.sign(actor_stream(actor), "actor.registered/v1",
                                {"name": f"Fictional {actor}", "roles": ["bidder"],
                                 "organisation": f"虚构测试单位（{actor}）"},
                                expected_version=0, signed_at=datetime.now(timezone.utc)).to_json()

    def append(self, client: TestClient, n: int = 1) -> None:
        for _ in range(n):
            answer = client.post("/v1/actions", json=self.action())
            assert answer.status_code == 201, answer.text

    def recorder(self):
        from ledger.stores.url import open_recorder, parse_store_url

        return open_recorder(parse_store_url(self.url))

    def latest_size(self) -> int:
        return latest_checkpoint(self.recorder())[0]


@pytest.fixture
def log(store_url, tmp_path) -> Log:
    return Log(store_url, tmp_path / "ledger.key")


def status(client: TestClient) -> list[dict]:
    answer = client.get("/v1/witnesses")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    return answer.json()


def wait_for(client: TestClient, check, seconds: float = 30.0) -> list[dict]:
    """The witnesses' status once `check(status)` holds (fails, showing it, if it never does)."""
    deadline = time.monotonic() + seconds
    while True:
        now = status(client)
        if check(now):
            return now
        assert time.monotonic() < deadline, json.dumps(now, indent=1)
        time.sleep(0.05)


def verified(url: str) -> dict:
    done = subprocess.run([*SUNLEDGER, "verify", "--store", url, "--json"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def kept_cosignatures(log: Log, witness_key: str) -> dict[int, str]:
    return {size: line for size, witness, line in log.recorder().cosignatures()
            if witness == witness_key}


# --- a checkpoint gets cosigned -------------------------------------------------------------

def test_each_new_checkpoint_is_cosigned_and_the_cosignature_lands_in_the_store(
        log, tmp_path, served):
    state, witness_key = make_witness(tmp_path, log.vkey)
    witness = served(state)
    with TestClient(log.app([(witness.url, witness_key)])) as client:
        log.append(client, 3)
        first = log.latest_size()
        done = wait_for(client, lambda s: s[0]["cosigned_size"] == first)[0]
        assert done["name"] == WITNESS and done["key"] == witness_key
        assert done["url"] == witness.url and done["consecutive_failures"] == 0
        assert done["last_error"] is None and done["next_attempt"] is None
        # later checkpoints: sent with the consistency proof from the size cosigned last
        log.append(client, 4)
        second = log.latest_size()
        assert second > first
        wait_for(client, lambda s: s[0]["cosigned_size"] == second)
    # a server started again knows from the store what the witness cosigned: it asks nothing
    asked = state.stat().st_mtime_ns
    with TestClient(log.app([(witness.url, witness_key)])) as client:
        wait_for(client, lambda s: s[0]["cosigned_size"] == second)
        time.sleep(0.3)
    assert state.stat().st_mtime_ns == asked
    kept = kept_cosignatures(log, witness_key)
    assert first in kept and second in kept
    verifier = parse_verifier_key(witness_key)
    for size, line in kept.items():
        note = log.recorder().checkpoints(size, size)[0][1]
        assert cosignature_time(split_note(note)[0], line, verifier) > 0
    assert json.loads(state.read_text())["logs"][ORIGIN]["size"] == second
    report = verified(log.url)
    assert report["intact"] and report["findings"] == [] and witness_key in report["cosigned_by"]


def test_the_serve_command_takes_witnesses_and_pushes_them(log, tmp_path, served):
    """`sunledger serve --witness URL KEY`: the operator's way, in a process of its own."""
    state, witness_key = make_witness(tmp_path, log.vkey)
    witness = served(state)
    with TestClient(log.app([])) as client:  # the appends before the server starts
        log.append(client, 2)
    size = log.latest_size()
    server = ledger_server(log.url, log.key, tmp_path / "serve.log", "--witness", witness.url,
                           witness_key)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                now = httpx.get(f"{server.url}/v1/witnesses", timeout=2).json()
                if now[0]["cosigned_size"] == size:
                    break
            except (httpx.HTTPError, ValueError, IndexError):
                pass
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
    finally:
        assert server.stop() in STOPPED_GRACEFULLY
    assert f"witness: {witness.url} ({WITNESS})" in server.output()
    assert "Traceback" not in server.output()
    assert size in kept_cosignatures(log, witness_key)
    assert verified(log.url)["intact"]
    # a URL or key that is not one is refused before anything starts (exit 2)
    for url, key in ((witness.url, log.vkey), ("ftp://example.org", witness_key)):
        done = subprocess.run([*SUNLEDGER, "serve", "--store", log.url, "--ledger-key",
                               str(log.key), "--witness", url, key], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "witness" in done.stderr


# --- a witness that is down ------------------------------------------------------------------

def test_a_witness_that_is_down_neither_blocks_nor_fails_appends_and_catches_up(
        log, tmp_path, served):
    state, witness_key = make_witness(tmp_path, log.vkey)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # first a witness that takes the connection and never answers: the worker waits on it
    black_hole = socket.socket()
    black_hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    black_hole.bind(("127.0.0.1", port))
    black_hole.listen(8)
    black_hole.settimeout(30)
    slow = PushTiming(poll=0.05, first=0.1, cap=0.4, timeout=60.0)
    with TestClient(log.app([(url, witness_key)], slow)) as client:
        log.append(client, 1)
        held, _ = black_hole.accept()  # the worker's request came, and gets no answer
        held.settimeout(30)
        assert held.recv(65536).startswith(b"POST /add-checkpoint HTTP/1.1")
        log.append(client, 5)  # every append answered while the worker still waits
        waiting, = status(client)
        assert waiting["cosigned_size"] is None and waiting["consecutive_failures"] == 0
        assert waiting["checkpoint_size"] < log.latest_size()  # still on its first request
        held.close()  # then the witness is gone: the connection drops, connections are refused
        black_hole.close()
        failing = wait_for(client, lambda s: s[0]["consecutive_failures"] >= 4)[0]
        assert "cannot reach" in failing["last_error"] and failing["last_error_status"] is None
        # each retry waits twice as long as the one before, up to the cap
        failures = failing["consecutive_failures"]
        gap = (parse_time(failing["next_attempt"]) - parse_time(failing["last_error_at"]))
        assert gap.total_seconds() == pytest.approx(min(0.4, 0.1 * 2 ** (failures - 1)), abs=1e-5)  # times to the µs
        log.append(client, 2)  # appends go on while it fails
        size = log.latest_size()
        assert kept_cosignatures(log, witness_key) == {}
        # the witness comes up: the next retry catches up with the newest checkpoint
        served(state, port)
        done = wait_for(client, lambda s: s[0]["cosigned_size"] == size)[0]
        assert done["consecutive_failures"] == 0 and done["next_attempt"] is None
        assert "cannot reach" in done["last_error"]  # the last error stays, as history
    assert size in kept_cosignatures(log, witness_key)
    assert verified(log.url)["intact"]


def test_backoff_doubles_from_the_first_retry_up_to_its_cap():
    timing = PushTiming()
    assert [timing.backoff(n) for n in range(1, 12)] == \
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert timing.backoff(10_000) == 300


# --- a witness that refuses ------------------------------------------------------------------

def test_a_witness_that_does_not_follow_the_log_is_reported(log, tmp_path, served):
    state, witness_key = make_witness(tmp_path, None)
    witness = served(state)
    with TestClient(log.app([(witness.url, witness_key)])) as client:
        log.append(client, 1)
        refused = wait_for(client, lambda s: s[0]["consecutive_failures"] >= 2)[0]
        assert refused["last_error_status"] == 404 and refused["cosigned_size"] is None
        assert f"does not follow the log '{ORIGIN}'" in refused["last_error"]
        log.append(client, 1)  # appends are not refused for it
    assert kept_cosignatures(log, witness_key) == {}


def test_a_forked_log_is_refused_by_the_witness_and_reported(log, tmp_path, served):
    """The operator shows the witness a second history under the same key and origin (a store
    of its own): the witness, which cosigned the first, refuses it (422), and says so."""
    state, witness_key = make_witness(tmp_path, log.vkey)
    witness = served(state)
    with TestClient(log.app([(witness.url, witness_key)])) as client:
        log.append(client, 2)
        cosigned = log.latest_size()
        wait_for(client, lambda s: s[0]["cosigned_size"] == cosigned)
    fork = Log(f"sqlite:{tmp_path / 'fork.db'}", log.key)
    assert fork.vkey == log.vkey
    with TestClient(fork.app([(witness.url, witness_key)])) as client:
        fork.append(client, 6)  # another history, larger than the one cosigned
        refused = wait_for(client, lambda s: s[0]["consecutive_failures"] >= 2)[0]
    assert refused["last_error_status"] == 422, refused
    assert "not consistent" in refused["last_error"] and "forked or was rewritten" \
        in refused["last_error"]
    assert refused["cosigned_size"] == cosigned  # as the witness said (409) before refusing
    assert kept_cosignatures(fork, witness_key) == {}
    assert json.loads(state.read_text())["logs"][ORIGIN]["size"] == cosigned


# --- several servers on one store ------------------------------------------------------------

def test_several_servers_on_one_store_push_the_same_checkpoints_correctly(
        log, tmp_path, served, monkeypatch):
    """Two servers on one store, each with its worker pushing the same witness the same
    checkpoints (the second made as `serve --workers N` makes each worker process's app,
    from the environment)."""
    state, witness_key = make_witness(tmp_path, log.vkey)
    witness = served(state)
    witnesses = [(witness.url, witness_key)]
    monkeypatch.setenv(app_module.STORE_VARIABLE, log.url)
    monkeypatch.setenv(app_module.KEY_VARIABLE, str(log.key))
    monkeypatch.setenv(app_module.WITNESSES_VARIABLE, json.dumps([list(witnesses[0])]))
    with TestClient(log.app(witnesses)) as one, \
            TestClient(app_module.from_environment()) as two:
        for _ in range(4):
            log.append(one, 1)
            log.append(two, 1)
        size = log.latest_size()
        for client in (one, two):
            wait_for(client, lambda s: s[0]["cosigned_size"] == size)
        # both saw the newest: the store keeps one line per size, each by the witness's key
    kept = kept_cosignatures(log, witness_key)
    assert size in kept
    assert json.loads(state.read_text())["logs"][ORIGIN]["size"] == size
    report = verified(log.url)
    assert report["intact"] and report["findings"] == [] and witness_key in report["cosigned_by"]


# --- /add-checkpoint as tlog-witness specifies it --------------------------------------------

@pytest.fixture
def checkpoints(tmp_path):
    """A SQLite log with checkpoints at two sizes: (ledger, [(size, note), (size, note)])."""
    url = f"sqlite:{tmp_path / 'spec.db'}"
    ledger = Ledger.open(url, key_path=tmp_path / "spec.key", origin=ORIGIN,
                         checkpoints=CheckpointPolicy(every_events=10**6, every_seconds=10**6))
    signer = ActorSigner(LEDGER_ACTOR, ledger.key)
    notes = []
    for round_ in range(2):
        for n in range(3):
            actor = f"spec-{round_}-{n}"
            ledger.submit(signer.sign(actor_stream(actor), "actor.registered/v1",
                                      {"name": actor, "roles": ["bidder"], "organisation": actor},
                                      expected_version=0, signed_at=datetime.now(timezone.utc)))
        note = ledger.checkpoint()
        notes.append((int(note.split("\n")[1]), note))
    yield ledger, notes
    ledger.close()


def post(witness: WitnessProcess, body: bytes | str) -> httpx.Response:
    answer = httpx.post(witness.url + "/add-checkpoint",
                        content=body.encode() if isinstance(body, str) else body, timeout=10)
    assert "Traceback" not in answer.text
    return answer


def test_add_checkpoint_answers_with_the_status_and_type_tlog_witness_gives(
        checkpoints, tmp_path, served):
    ledger, [(small, small_note), (large, large_note)] = checkpoints
    log_key = log_verifier_key(ledger.origin, ledger.key.public_key)
    state, witness_key = make_witness(tmp_path, log_key)
    witness = served(state)
    proof = StoredLog(ledger.recorder).consistency(small, large)
    request = lambda old, note, hashes=(): AddCheckpoint(old, list(hashes), note).text()  # noqa: E731

    def problem(answer: httpx.Response, status: int) -> dict:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        return answer.json()

    # not a request: 400
    problem(post(witness, "hello"), 400)
    problem(post(witness, b"old 0\n\n\xff\xfe"), 400)
    problem(post(witness, request(0, small_note).replace("old 0", "old 00")), 400)
    # a log it does not follow: 404; the log's origin signed by another key: 403
    other = SigningKey.generate()
    problem(post(witness, request(0, sign_note("other.test/log\n1\n" + "A" * 43 + "=\n",
                                               "other.test/log", other))), 404)
    forged = sign_note(split_note(small_note)[0], ORIGIN, other)
    assert "has no signature by" in problem(post(witness, request(0, forged)), 403)["detail"]
    # an old size beyond the checkpoint's: 400
    problem(post(witness, request(small + 1, small_note)), 400)

    # the first cosignature: 200, the cosignature line(s) as text/plain; charset=utf-8
    answer = post(witness, request(0, small_note))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.text.startswith(f"\u2014 {WITNESS} ") and answer.text.endswith("\n")
    assert cosignature_time(split_note(small_note)[0], answer.text,
                            parse_verifier_key(witness_key)) > 0
    # the same checkpoint again (old size = its size, no proof): cosigned again
    assert post(witness, request(small, small_note)).status_code == 200

    # an old size that is not the size cosigned last: 409, that size, as text/x.tlog.size
    answer = post(witness, request(0, large_note))
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "text/x.tlog.size"
    assert answer.text == f"{small}\n"
    # the same size with another root (a fork): 409, and not a size to retry from
    fork = sign_note(Checkpoint(ORIGIN, small, bytes(32)).text(), ORIGIN, ledger.key)
    assert "forked" in problem(post(witness, request(small, fork)), 409)["detail"]
    # a consistency proof that does not verify: 422
    bad = [bytes(32)] * len(proof)
    assert "not consistent" in problem(post(witness, request(small, large_note, bad)),
                                       422)["detail"]
    rewritten = sign_note(Checkpoint(ORIGIN, large, bytes(32)).text(), ORIGIN, ledger.key)
    problem(post(witness, request(small, rewritten, proof)), 422)
    assert json.loads(state.read_text())["logs"][ORIGIN]["size"] == small  # none of it counted

    # a good proof: 200, and the witness moves to the new size
    assert post(witness, request(small, large_note, proof)).status_code == 200
    assert json.loads(state.read_text())["logs"][ORIGIN]["size"] == large

    # a body over the bound: 413; another method: 405; another path: 404 (no trace anywhere)
    problem(post(witness, "old 0\n" + "A" * 70_000), 413)
    assert httpx.get(witness.url + "/add-checkpoint").status_code == 405
    problem(httpx.post(witness.url + "/other", content=b"x"), 404)


def test_concurrent_requests_never_roll_the_witness_back(checkpoints, tmp_path, served):
    """Requests from the same old size to two new sizes, at once: each is judged and
    recorded as one step, so the state ends at the largest size cosigned (tlog-witness's
    rollback race cannot happen), and every other answer is a 409 naming a size."""
    ledger, [(small, small_note), (large, large_note)] = checkpoints
    signer = ActorSigner(LEDGER_ACTOR, ledger.key)
    ledger.submit(signer.sign(actor_stream("spec-late"), "actor.registered/v1",
                              {"name": "late", "roles": ["bidder"], "organisation": "late"},
                              expected_version=0, signed_at=datetime.now(timezone.utc)))
    larger_note = ledger.checkpoint()
    larger = int(larger_note.split("\n")[1])
    state, _ = make_witness(tmp_path, log_verifier_key(ledger.origin, ledger.key.public_key))
    witness = served(state)
    assert post(witness, AddCheckpoint(0, [], small_note).text()).status_code == 200
    log = StoredLog(ledger.recorder)
    bodies = [AddCheckpoint(small, log.consistency(small, size), note).text()
              for size, note in ((large, large_note), (larger, larger_note))] * 8
    answers: list[tuple[int, str, str]] = []

    def send(body: str) -> None:
        answer = httpx.post(witness.url + "/add-checkpoint", content=body.encode(), timeout=30)
        answers.append((answer.status_code, answer.headers["content-type"],
                        body.split("\n\n", 1)[1].split("\n")[1]))

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cosigned = [int(size) for status, _, size in answers if status == 200]
    assert cosigned and all(status == 409 and media == "text/x.tlog.size"
                            for status, media, _ in answers if status != 200)
    assert json.loads(state.read_text())["logs"][ORIGIN]["size"] == max(cosigned)


# --- the command ------------------------------------------------------------------------------

def test_witness_serve_prints_its_key_stops_cleanly_and_refuses_what_it_cannot_serve(
        tmp_path, served):
    state, witness_key = make_witness(tmp_path, None)
    witness = served(state)
    assert witness.key_line == f"witness verifier key: {witness_key}"
    # the port is taken: exit 2, saying so
    done = subprocess.run([*SUNLEDGER, "witness", "serve", "--state", str(state), "--port",
                           str(witness.port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{witness.port}" in done.stderr
    # not a witness's state, or none at all: exit 2, saying so
    not_state = tmp_path / "ledger.json"
    not_state.write_text('{"events": []}')
    write_private_key(tmp_path / "ledger.json.key", SigningKey.generate())
    for path, says in ((not_state, "is not a witness's state file"),
                       (tmp_path / "missing.json", "no witness state")):
        done = subprocess.run([*SUNLEDGER, "witness", "serve", "--state", str(path)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    # SIGTERM: it stops, exit 0
    code, err = witness.stop()
    assert code == 0 and "witness stopped" in err and "Traceback" not in err
