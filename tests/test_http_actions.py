"""Writes over HTTP against real `sunledger serve` processes, on SQLite and PostgreSQL: a signed
action is recorded once however often it is sent, conflicts and refusals are problem+json that
say what to do, a batch is all or none, what is not a signed action is refused clearly, a
server stopped mid-load leaves nothing half-written, and two servers on one store never fork."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from datetime import datetime, timezone

from api.client import LedgerClient, ProblemError
from conftest import INTAKE, bid
from ledger.evidence.envelope import encode_signature
from ledger.evidence.keys import SigningKey
from ledger.evidence.receipts import receipt_ok
from ledger.evidence.signer import ActorSigner
from ledger.log.tree import StoredLog
from servers import SUNLEDGER, STOPPED_GRACEFULLY, ledger_server

PROBLEM = "application/problem+json"


@pytest.fixture
def server(world, store_url, tmp_path):
    started = ledger_server(store_url, tmp_path / "ledger.key", tmp_path / "serve.log")
    yield started
    started.stop()
    assert "Traceback" not in started.output()


def post(server, signed, path="/v1/actions") -> httpx.Response:
    body = [s.to_json() for s in signed] if isinstance(signed, list) else signed.to_json()
    return httpx.post(f"{server.url}{path}", json=body, timeout=30)


def problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:sunledger:error:{code}" and body["status"] == status, body
    assert body["detail"] and "Traceback" not in response.text
    return body


def intake(world, project: str, version: int = 0):
    return world.sign(world.actors["tenderee-1"], project, "project.intake/v1", INTAKE,
                      version=version)


def test_an_action_is_recorded_once_however_often_it_is_sent(world, server):
    signed = intake(world, "project:HTTP-1")
    first = post(server, signed)
    assert first.status_code == 201, first.text
    recorded = first.json()
    receipt = recorded["receipt"]
    assert receipt_ok({k: v for k, v in receipt.items() if k != "signature"},
                      receipt["signature"], world.ledger.key.public_key)
    assert (receipt["stream"], receipt["version"]) == ("project:HTTP-1", 1)
    assert recorded["leaf_index"] == StoredLog(world.ledger.recorder).leaf_index(
        "project:HTTP-1", 1)[0]
    for _ in range(3):  # the answer was lost: sent again, the same receipt, no second event
        again = post(server, signed)
        assert again.status_code == 200 and again.json() == recorded
    assert world.ledger.stream_version("project:HTTP-1") == 1


def test_a_stale_version_and_a_reused_nonce_are_conflicts(world, server):
    signed = intake(world, "project:HTTP-2")
    assert post(server, signed).status_code == 201
    operator = world.actors["operator-1"]
    stale = world.sign(operator, "project:HTTP-2", "project.intake-accepted/v1", {}, version=0)
    body = problem(post(server, stale), 409, "stale-version")
    assert body["version"] == 1 and body["stream"] == "project:HTTP-2"
    # the same nonce with other content: never recorded, never answered with the first receipt
    other = replace(signed.action, stream="project:HTTP-3")
    resigned = type(signed)(other, world.actors["tenderee-1"].key.sign(other.signing_bytes()))
    problem(post(server, resigned), 409, "nonce-reused")
    assert world.ledger.stream_version("project:HTTP-3") == 0


def test_a_refusal_says_its_rule_and_article_and_where_it_was_recorded(world, server):
    world.open_project("project:HTTP-4")  # bids due 25 days after the tests' 2025 clock
    late = world.sign(world.actors["bidder-1"], "project:HTTP-4", "project.bid-submitted/v1",
                      bid("bidder-1"))  # the server's clock is today's: long past the deadline
    body = problem(post(server, late), 409, "rule-refused")
    assert body["rule"] and body["article"].startswith("法") and body["recorded"] is True
    where = body["recorded_in"]  # a bid is told no version of the refusals either (法 §22)
    assert where["stream"] == "refusal:HTTP-4" and set(where) == {"stream", "position"}
    stored = world.ledger.recorder.select_receipts(where["position"] - 1, where["position"])
    assert stored[0].stream == "refusal:HTTP-4" and stored[0].version == 1
    assert world.ledger.stream_version("project:HTTP-4") == 4  # the bid itself: not recorded
    # an action that names its version is told where its refusal stands, version and all
    again = world.sign(world.actors["tenderee-1"], "project:HTTP-4",
                       "project.clarification-issued/v1",
                       {"document_hash": "c" * 64, "affects_bids": False}, version=4)
    body = problem(post(server, again), 409, "rule-refused")
    assert body["recorded_in"]["version"] == 2


def test_a_bid_is_answered_with_a_sealed_receipt_and_no_version(world, server):
    """A bid names no version (evidence-format §6); its answer is the sealed receipt (§9.1),
    again when sent again; the bidder reads its own bid back without position, and may not
    read the project's version, which the tenderee may."""
    world.clock.moment = datetime.now(timezone.utc)  # bids due 25 days from today
    world.open_project("project:HTTP-S")
    signed = world.sign(world.actors["bidder-1"], "project:HTTP-S", "project.bid-submitted/v1",
                        bid("bidder-1"))
    assert signed.action.expected_version is None
    first = post(server, signed)
    assert first.status_code == 201, first.text
    receipt = first.json()["receipt"]
    body = {k: v for k, v in receipt.items() if k != "signature"}
    assert set(body) == {"event_hash", "ledger_time", "position", "receipt", "stream"}
    assert body["receipt"] == "sunledger/sealed-receipt/v1"
    assert receipt_ok(body, receipt["signature"], world.ledger.key.public_key)
    stored = world.ledger.recorder.select_receipts(body["position"] - 1, body["position"])[0]
    assert (stored.event_hash, stored.version) == (body["event_hash"], 5)
    again = post(server, signed)
    assert again.status_code == 200 and again.json() == first.json()
    assert world.ledger.stream_version("project:HTTP-S") == 5
    bidder = LedgerClient(server.url, signer=world.actors["bidder-1"])
    own, = bidder.get("/v1/projects/HTTP-S/events")["events"][-1:]
    assert own["event"]["hash"] == {"withheld": own["event"]["hash"]["withheld"]}
    assert own["receipt"] == receipt and "withheld" in own["event"]["version"]
    with pytest.raises(ProblemError) as refused:
        bidder.get("/v1/projects/HTTP-S/version")
    assert refused.value.status == 403 and "expected_version null" in refused.value.detail
    tenderee = LedgerClient(server.url, signer=world.actors["tenderee-1"])
    assert tenderee.get("/v1/projects/HTTP-S/version")["version"] == 5


def test_a_batch_is_all_or_none(world, server):
    first = [intake(world, f"project:HTTP-B{i}") for i in range(3)]
    done = post(server, first, "/v1/actions/batch")
    assert done.status_code == 201, done.text
    leaves = [r["leaf_index"] for r in done.json()["receipts"]]
    assert leaves == list(range(leaves[0], leaves[0] + 3))
    assert post(server, first, "/v1/actions/batch").json() == done.json()  # sent again: 200
    counts = world.raw.counts()
    broken = [intake(world, "project:HTTP-B7"), intake(world, "project:HTTP-B8"),
              world.sign(world.actors["operator-1"], "project:HTTP-B0",
                         "project.intake-accepted/v1", {}, version=0)]  # stale
    problem(post(server, broken, "/v1/actions/batch"), 409, "stale-version")
    assert world.raw.counts() == counts
    problem(post(server, [], "/v1/actions/batch"), 422, "malformed-action")


def _raw_request(server, head: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(head + body)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return answer


def test_what_is_not_a_signed_action_is_refused_clearly(world, server):
    url = f"{server.url}/v1/actions"
    signed = intake(world, "project:HTTP-5")
    good = signed.to_json()
    problem(httpx.post(url, content=b"{not json", headers={"content-type": "application/json"}),
            422, "malformed-request")
    problem(httpx.post(url, json={"action": good["action"]}), 422, "malformed-request")
    problem(httpx.post(url, json={**good, "extra": 1}), 422, "malformed-request")
    problem(httpx.post(url, json={**good, "signature": "not base64!"}), 422, "malformed-action")
    problem(httpx.post(url, json={"action": {**good["action"], "expected_version": "0"},
                                  "signature": good["signature"]}), 422, "malformed-request")
    floats = {"action": {**good["action"], "payload": {**INTAKE, "control_price": 1.5}},
              "signature": good["signature"]}  # no signer makes one: its form is refused first
    problem(httpx.post(url, json=floats), 422, "malformed-action")
    big = world.sign(world.actors["tenderee-1"], "project:HTTP-5", "project.intake/v1",
                     {**INTAKE, "title": "标" * 30_000}, version=0)
    problem(post(server, big), 413, "oversized-payload")
    ghost = ActorSigner("ghost-1", SigningKey.derived(b"t", "ghost"))
    problem(post(server, ghost.sign("project:HTTP-5", "project.intake/v1", INTAKE,
                                    expected_version=0, signed_at=world.clock.now())),
            403, "unknown-actor")
    forged = {**good, "signature": encode_signature(bytes(64))}
    problem(httpx.post(url, json=forged), 403, "bad-signature")
    problem(httpx.get(url), 405, "method-not-allowed")
    problem(httpx.get(f"{server.url}/v1/no-such-thing"), 404, "not-found")
    # a body declared beyond the limit is refused before it is read
    answer = _raw_request(server, b"POST /v1/actions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                  b"application/json\r\nContent-Length: 999999999999\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413") and b"body-too-large" in answer
    assert world.ledger.stream_version("project:HTTP-5") == 0


def test_a_server_stopped_under_load_leaves_nothing_half_written(world, store_url, tmp_path):
    """Eight clients append while the server is told to stop: the appends in flight finish,
    every 201 has its event, and the whole store verifies."""
    running = ledger_server(store_url, tmp_path / "ledger.key", tmp_path / "serve.log",
                            "--shutdown-seconds", "20")
    receipts: list[dict] = []
    failures: list[str] = []
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            i = 0
            while not stop.is_set():
                signed = intake(world, f"project:LOAD-{n}-{i}")
                i += 1
                try:
                    answer = http.post("/v1/actions", json=signed.to_json())
                except httpx.TransportError:
                    return  # the server went away: this action may or may not be recorded
                if answer.status_code == 201:
                    receipts.append(answer.json()["receipt"])
                elif answer.status_code != 503:
                    failures.append(answer.text)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(2)
    code = running.stop()
    stop.set()
    for t in threads:
        t.join()
    assert code in STOPPED_GRACEFULLY and "Traceback" not in running.output()
    assert not failures and len(receipts) > 8
    for r in receipts:
        stored = world.ledger.recorder.select_receipts(r["position"] - 1, r["position"])
        assert stored and stored[0].event_hash == r["event_hash"]
    world.ledger.checkpoint()
    verified = subprocess.run([SUNLEDGER, "verify", "--store", store_url, "--json"],
                              capture_output=True, text=True, timeout=600)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["findings"] == []


def test_two_servers_on_one_store_never_fork(world, store_url, tmp_path):
    """Two server processes, eight clients sending to both, all to the same two projects:
    every accepted event extends its stream once, and the checkpoints the servers signed are
    one per tree size and consistent (sunledger verify)."""
    key = tmp_path / "ledger.key"
    servers = [ledger_server(store_url, key, tmp_path / f"serve-{n}.log") for n in range(2)]
    officer = world.register("witness-http", roles=("witness",))
    streams = ["project:FORK-1", "project:FORK-2"]
    for stream in streams:
        world.open_project(stream)
        world.submit(world.actors["operator-1"], stream, "project.witness-assigned/v1",
                     {"officer": "witness-http"})
    accepted: list[tuple[str, int]] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(timeout=30) as http:
            for i in range(15):
                stream = streams[(n + i) % 2]
                while True:  # read the version, sign, send; a conflict: read again
                    signed = world.sign(officer, stream, "project.witness-observation/v1",
                                        {"note": f"client {n}, observation {i}"})
                    answer = http.post(f"{servers[(n + i) % 2].url}/v1/actions",
                                       json=signed.to_json())
                    if answer.status_code == 201:
                        with lock:
                            accepted.append((stream, answer.json()["receipt"]["version"]))
                        break
                    assert answer.status_code == 409, answer.text

    try:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in servers:
            assert s.stop() in STOPPED_GRACEFULLY and "Traceback" not in s.output()
    assert len(accepted) == len(set(accepted)) == 120  # no version taken twice
    for stream in streams:
        assert world.ledger.stream_version(stream) == 5 + 60
    world.ledger.checkpoint()
    sizes = [size for size, *_ in world.ledger.recorder.checkpoints()]
    assert len(sizes) == len(set(sizes))
    verified = subprocess.run([SUNLEDGER, "verify", "--store", store_url, "--json"],
                              capture_output=True, text=True, timeout=600)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_slow_or_oversized_body_is_cut_off_before_the_route_sees_it():
    """The body limit in front of every route: a body that does not arrive in time is 408,
    one that grows past the limit while it streams is 413; the route never runs."""
    import asyncio

    from api.http.problems import BodyLimit

    reached = []

    async def route(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def call(limit, seconds, chunks, pause):
        sent: list[dict] = []

        async def receive():
            if chunks:
                await asyncio.sleep(pause)
                body = chunks.pop(0)
                return {"type": "http.request", "body": body, "more_body": bool(chunks)}
            await asyncio.sleep(3600)  # the client sends nothing more

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/v1/actions", "headers": []}
        await BodyLimit(route, limit=limit, seconds=seconds)(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    status, body = asyncio.run(call(1000, 0.2, [b"x" * 10, b"y" * 10], pause=0.5))
    assert status == 408 and b"request-timeout" in body
    status, body = asyncio.run(call(100, 5, [b"x" * 60, b"y" * 60], pause=0))
    assert status == 413 and b"body-too-large" in body
    assert reached == []
    status, _ = asyncio.run(call(1000, 5, [b"x" * 10, b"y" * 10], pause=0))
    assert status == 204 and reached == ["/v1/actions"]


def _workers(server) -> list[int]:
    """The worker processes of `serve --workers N` (spawned by multiprocessing)."""
    found = []
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except FileNotFoundError:
                pass
    return found


def _sockets(port: int, state: str) -> set[int]:
    """The inodes of this machine's TCP sockets on local port `port` in `state` (0A:
    listening, 01: established), from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def _held_by(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _until(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not seen in {seconds} s: {what}"
        time.sleep(0.1)


def test_serve_workers_each_listen_and_each_take_connections(world, store_url, tmp_path):
    """`serve --workers 2`: each worker listens on the port with a socket of its own, so that
    keep-alive connections are spread over both (with one shared socket, one process took
    every connection: measured 8 + 0, 7 + 1); a worker that dies is replaced; SIGTERM stops
    them all."""
    running = ledger_server(store_url, tmp_path / "ledger.key", tmp_path / "serve.log",
                            "--workers", "2")
    try:
        _until(lambda: len(_workers(running)) == 2 and len(_sockets(running.port, "0A")) == 2,
               "two workers, each listening")
        workers = _workers(running)
        listening = _sockets(running.port, "0A")
        assert all(len(_held_by(pid) & listening) == 1 for pid in workers)
        clients = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(24)]
        for c in clients:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
        served = _sockets(running.port, "01")
        # 24 connections hashed over two sockets: all on one would happen once in 8 million
        assert all(_held_by(pid) & served for pid in workers), "a worker took no connection"
        for c in clients:
            c.close()
        os.kill(workers[0], signal.SIGKILL)
        _until(lambda: workers[0] not in _workers(running) and len(_workers(running)) == 2
               and len(_sockets(running.port, "0A")) == 2, "a worker in place of the killed one")
        assert httpx.get(f"{running.url}/readyz", timeout=10).status_code == 200
        assert "ended with code -9; starting another" in running.output()
        workers = _workers(running)
    finally:
        code = running.stop()
    assert code in STOPPED_GRACEFULLY and "Traceback" not in running.output()
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_serve_workers_that_cannot_start_stop_the_server(tmp_path, monkeypatch, capsys):
    """Workers that die as they start (here: no store named in their environment), twice
    running, stop the server with exit 2 and say so, instead of restarting forever."""
    from api.http import workers
    from api.http.app import STORE_VARIABLE

    monkeypatch.delenv(STORE_VARIABLE, raising=False)
    monkeypatch.setattr(workers, "EARLY_DEATH", 60.0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SystemExit) as stopped:
        workers.run(2, {"host": "127.0.0.1", "port": port, "log_level": "critical"})
    assert stopped.value.code == 2
    assert "did not come up twice running: stopping" in capsys.readouterr().err
