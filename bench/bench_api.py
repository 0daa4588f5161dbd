#!/usr/bin/env python
"""The HTTP API: signed actions over HTTP against the ledger's own append, and reads.

Run by hand (`./run bench`, or `python bench/bench_api.py [--quick] [--pg URL] [--workers N]`);
not a test. SQLite always; PostgreSQL with `--pg URL` (a schema of its own, dropped at the end).

Appends. A real `sunledger serve` process (uvicorn, `--workers` processes, 1 by default) on
the store, and CLIENTS clients in this process, each a thread with its own keep-alive
connection and its own project, posting actions that were signed and encoded before the
timed round (the clients' work): one action a request (POST /v1/actions) and batches of 100
(POST /v1/actions/batch). The baseline is the ledger's own append, `Ledger.submit`, in this
process on the same store, of the same kind of actions (signed beforehand too), 1 and 100 a
call, on projects of its own. Rounds are interleaved (direct, HTTP, direct, HTTP, ...) because
a shared machine's speed drifts; the medians are compared. Targets: HTTP at one action a
request >= 0.5x the direct rate, in batches of 100 >= 0.8x.

Reads, at a project of 10,000 events (its bidders' sealed bids, resubmitted), CLIENTS clients
at once: the project's state (GET /v1/projects/{p}, as the public, and signed as its
tenderee: RFC 9421, signatures made beforehand), the version an actor signs at (signed), and
tiles of the Merkle log (GET /log/tile/..., full hash tiles and entry bundles at random).
Reads per second and each request's latency (p50, p99), beside the baseline: GET /healthz,
the same server's answer that reads nothing (what HTTP itself costs). The reads are measured
again from a server of `--read-workers` processes (2 by default: the clients and one process
share two cores otherwise). Target: p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from api.client import signature_headers
from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import project_stream
from ledger.ledger import Ledger
from ledger.log import tiles
from ledger.log.tree import StoredLog
from cast import register_cast  # noqa: E402 (bench/ is on the path: scripts run from it)

TARGETS = {1: 0.5, 100: 0.8}  # HTTP / direct appends, by actions per request
READ_P99_MS = 20.0
CLIENTS = 8
BIDDERS = 20
READ_PROJECT_EVENTS = 10_000
SUNLEDGER = str(Path(sys.executable).parent / "sunledger")
ROOT = Path(__file__).resolve().parent.parent

# rounds, actions per round by store and actions per request, reads per client per round
SIZES = {
    False: {"rounds": 5, "sqlite": {1: 1600, 100: 8000}, "postgresql": {1: 800, 100: 4000},
            "reads": 250},
    True: {"rounds": 3, "sqlite": {1: 800, 100: 3200}, "postgresql": {1: 400, 100: 1600},
           "reads": 100},
}


def _now() -> datetime:
    return datetime.now(UTC)


# --- the store, its actors and projects -------------------------------------------------------

class World:
    """The ledger in this process (the baseline's), its registered actors, and projects open
    for bids (taken in, accepted, announced, documents issued; the deadline weeks away)."""

    def __init__(self, url: str, key: Path):
        self.url, self.key_path = url, key
        self.ledger = Ledger.open(url, key_path=key)
        self.tenderee, self.operator, self.bidders = register_cast(self.ledger, BIDDERS)
        self.versions: dict[str, int] = {}
        self.n = 0

    def open_projects(self, count: int, label: str) -> list[str]:
        streams = [project_stream(f"bench-{label}-{uuid.uuid4().hex[:8]}-{i}") for i in range(count)]
        opened = _now()
        for version, (signer, type_, payload) in enumerate([
                (self.tenderee, "project.intake/v1", {"title": "bench project",
                                                      "category": "procurement",
                                                      "tenderee": self.tenderee.actor}),
                (self.operator, "project.intake-accepted/v1", {}),
                (self.tenderee, "project.announced/v1", {
                    "documents_from": format_time(opened),
                    "documents_until": format_time(opened + timedelta(days=7)),
                    "bid_deadline": format_time(opened + timedelta(days=25))}),
                (self.tenderee, "project.documents-issued/v1", {
                    "document_hash": "d" * 64, "edition": 1})]):
            self.ledger.submit(*[signer.sign(s, type_, payload, expected_version=version,
                                             signed_at=_now()) for s in streams])
        self.versions.update({s: 4 for s in streams})
        return streams

    def bids(self, stream: str, count: int) -> list:
        """`count` bids on `stream`, signed now, at the stream's next versions."""
        signed = []
        for _ in range(count):
            bidder = self.bidders[self.n % BIDDERS]
            signed.append(bidder.sign(stream, "project.bid-submitted/v1", {
                "bidder": bidder.actor, "bid_hash": hashlib.sha256(b"%d" % self.n).hexdigest()},
                expected_version=self.versions[stream], signed_at=_now()))
            self.versions[stream] += 1
            self.n += 1
        return signed

    def close(self) -> None:
        self.ledger.close()


def _listening(port: int) -> int:
    """How many sockets listen on the loopback port (Linux: /proc/net/tcp)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[3] == "0A"
               and int(line.split()[1].split(":")[1], 16) == port)


class Server:
    """`sunledger serve` on the store, in a process of its own, on a free loopback port."""

    def __init__(self, world: World, workers: int, log: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log_path, self.log = log, log.open("wb")
        self.process = subprocess.Popen(
            [SUNLEDGER, "serve", "--store", world.url, "--ledger-key", str(world.key_path),
             "--port", str(port), "--workers", str(workers)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:  # ready, and every worker listening (each has a socket of its own)
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200 and \
                        _listening(port) >= workers:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- a lean client --------------------------------------------------------------------------

class Connection:
    """One keep-alive HTTP/1.1 connection sending requests built beforehand, as a load
    generator (wrk, say) does: the client costs next to nothing, so what is timed is the
    server. `send` returns the status and the body."""

    IDLE = 2.0  # seconds: a connection idle longer is opened anew (uvicorn closes at 5)

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.host, self.address = f"{host}:{port}", (host, int(port))
        self.sock = None
        self._connect()

    def _connect(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = socket.create_connection(self.address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer, self.used = b"", time.monotonic()

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body

    def send(self, request: bytes) -> tuple[int, bytes]:
        if time.monotonic() - self.used > self.IDLE:
            self._connect()
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        self.used = time.monotonic()
        return status, body

    def _more(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise SystemExit("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


# --- appends -----------------------------------------------------------------------------------

def _in_threads(jobs: list) -> float:
    """Run each job (a callable) in a thread of its own, started together: wall seconds."""
    start, errors = threading.Barrier(len(jobs) + 1), []

    def run(job):
        start.wait()
        try:
            job()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return elapsed


class HttpSide:
    label = "http"

    def __init__(self, world: World, server: Server):
        self.world = world
        self.clients = [Connection(server.url) for _ in range(CLIENTS)]
        self.streams = world.open_projects(CLIENTS, "http")

    def prepare(self, actions: int, per_call: int) -> list[list[bytes]]:
        """Each client's requests: signed and encoded now, before the timed round."""
        each = actions // CLIENTS
        plan = []
        for client, stream in zip(self.clients, self.streams):
            requests = []
            for _ in range(each // per_call):
                signed = self.world.bids(stream, per_call)
                if per_call == 1:
                    body = orjson.dumps(signed[0].to_json())
                    requests.append(client.request("POST", "/v1/actions", body))
                else:
                    body = orjson.dumps([s.to_json() for s in signed])
                    requests.append(client.request("POST", "/v1/actions/batch", body))
            plan.append(requests)
        return plan

    def run(self, plan) -> float:
        def client(connection: Connection, requests):
            def post_all():
                for request in requests:
                    status, body = connection.send(request)
                    if status != 201:
                        raise SystemExit(f"{request[:40]!r}: {status} {body[:500]!r}")
            return post_all

        return _in_threads([client(h, r) for h, r in zip(self.clients, plan)])

    def close(self) -> None:
        for c in self.clients:
            c.close()


class DirectSide:
    label = "direct"

    def __init__(self, world: World):
        self.world = world
        self.streams = world.open_projects(CLIENTS, "direct")

    def prepare(self, actions: int, per_call: int) -> list[list]:
        calls, stream = [], 0
        for _ in range(actions // per_call):
            calls.append(self.world.bids(self.streams[stream], per_call))
            stream = (stream + 1) % CLIENTS
        return calls

    def run(self, calls) -> float:
        submit = self.world.ledger.submit
        began = time.perf_counter()
        for batch in calls:
            submit(*batch)
        return time.perf_counter() - began

    def close(self) -> None:
        pass


@dataclass
class Appends:
    store: str
    per_call: int
    actions: int
    rates: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "http": []})

    def median(self, side: str) -> float:
        return statistics.median(self.rates[side])

    @property
    def ratio(self) -> float:
        return self.median("http") / self.median("direct")


def measure_appends(store: str, sides: list, per_call: int, actions: int,
                    rounds: int) -> Appends:
    result = Appends(store, per_call, actions)
    for side in sides:  # warm-up, not counted: connections, caches, the server's first pages
        side.run(side.prepare(CLIENTS * per_call * 4, per_call))
    for r in range(rounds):
        for side in sides:
            plan = side.prepare(actions, per_call)
            result.rates[side.label].append(actions / side.run(plan))
        print(f"  {store:<10} {per_call:>3}/request  round {r + 1}/{rounds}: "
              f"direct {result.rates['direct'][-1]:7.0f}/s   "
              f"http {result.rates['http'][-1]:7.0f}/s", flush=True)
    return result


# --- reads -------------------------------------------------------------------------------------

@dataclass
class Reads:
    store: str
    kind: str
    rates: list[float] = field(default_factory=list)  # 8 clients at once, each round
    loaded: list[float] = field(default_factory=list)  # each request's seconds, 8 at once
    alone: list[float] = field(default_factory=list)  # each request's seconds, one client

    @staticmethod
    def p(samples: list[float], q: float) -> float:
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def read_kinds(world: World, project: str, log_size: int) -> dict:
    """Each kind of read: a function giving `n` requests (path, headers) for one client,
    signatures made now (valid for 300 s)."""
    rng = random.Random(11)
    project_id = project.split(":", 1)[1]
    full = log_size // tiles.WIDTH  # full level-0 tiles (and entry bundles)
    level1 = full // tiles.WIDTH

    def tile_path() -> str:
        choice = rng.random()
        if choice < 0.45:
            tile = tiles.Tile(0, rng.randrange(full))
        elif choice < 0.9 or level1 == 0:
            tile = tiles.Tile(tiles.ENTRIES, rng.randrange(full))
        else:
            tile = tiles.Tile(1, rng.randrange(level1))
        return "/log/tile/" + tiles.tile_path(tile)

    def signed(path: str) -> tuple[str, dict]:
        return path, signature_headers(world.tenderee, "GET", path, "", window=300)

    return {
        "healthz (baseline)": lambda n: [("/healthz", {})] * n,
        "state, public": lambda n: [(f"/v1/projects/{project_id}", {})] * n,
        "state, signed": lambda n: [signed(f"/v1/projects/{project_id}") for _ in range(n)],
        "version, signed": lambda n: [signed(f"/v1/projects/{project_id}/version")
                                      for _ in range(n)],
        "tiles": lambda n: [(tile_path(), {}) for _ in range(n)],
    }


def _reader(connection: Connection, requests: list[bytes], latencies: list[float]):
    def read_all():
        for request in requests:
            began = time.perf_counter()
            status, body = connection.send(request)
            latencies.append(time.perf_counter() - began)
            if status != 200:
                raise SystemExit(f"{request[:60]!r}: {status} {body[:300]!r}")
    return read_all


def measure_reads(store: str, server: Server, kinds: dict, per_client: int,
                  rounds: int) -> list[Reads]:
    connections = [Connection(server.url) for _ in range(CLIENTS)]
    results = {kind: Reads(store, kind) for kind in kinds}

    def plan(connection: Connection, make, n: int) -> list[bytes]:
        return [connection.request("GET", path, headers=headers) for path, headers in make(n)]

    try:
        for kind, make in kinds.items():  # warm-up, not counted
            for c in connections:
                _reader(c, plan(c, make, 3), [])()
        for r in range(rounds):
            for kind, make in kinds.items():
                plans = [plan(c, make, per_client) for c in connections]
                latencies: list[list[float]] = [[] for _ in connections]
                elapsed = _in_threads([_reader(c, p, mine) for c, p, mine
                                       in zip(connections, plans, latencies)])
                results[kind].rates.append(per_client * CLIENTS / elapsed)
                results[kind].loaded += [x for mine in latencies for x in mine]
                _reader(connections[0], plan(connections[0], make, per_client),
                        results[kind].alone)()  # then one client alone
            print(f"  {store:<10} reads round {r + 1}/{rounds}: " + "   ".join(
                f"{k.split(' (')[0]} {results[k].rates[-1]:.0f}/s" for k in kinds), flush=True)
    finally:
        for c in connections:
            c.close()
    return list(results.values())


# --- one store -------------------------------------------------------------------------------

def bench_store(store: str, url: str, folder: Path, sizes: dict, workers: int,
                read_workers: int = 1) -> tuple[list[Appends], list[Reads]]:
    world = World(url, folder / f"{store}.ledger-key")
    server = Server(world, workers, folder / f"{store}-serve.log")
    http = direct = None
    try:
        http, direct = HttpSide(world, server), DirectSide(world)
        appends = [measure_appends(store, [direct, http], per_call, sizes[store][per_call],
                                   sizes["rounds"]) for per_call in (1, 100)]
        # the project the reads are about, grown to its size by its bidders' bids
        project, = world.open_projects(1, "read")
        while world.versions[project] < READ_PROJECT_EVENTS:
            world.ledger.submit(*world.bids(project, min(
                100, READ_PROJECT_EVENTS - world.versions[project])))
        world.ledger.checkpoint()  # the tiles served are those the latest checkpoint covers
        size = StoredLog(world.ledger.recorder).size()
        print(f"  {store:<10} reads at a project of {READ_PROJECT_EVENTS:,} events "
              f"(the log: {size:,} leaves)", flush=True)
        reads = measure_reads(store, server, read_kinds(world, project, size), sizes["reads"],
                              sizes["rounds"])
        if read_workers > 1:  # the same reads from a server of several processes
            more = Server(world, read_workers, folder / f"{store}-serve-{read_workers}.log")
            try:
                print(f"  {store:<10} reads again, `sunledger serve --workers {read_workers}`",
                      flush=True)
                reads += measure_reads(f"{store} x{read_workers}", more,
                                       read_kinds(world, project, size), sizes["reads"],
                                       sizes["rounds"])
            finally:
                more.stop()
        return appends, reads
    finally:
        for side in (http, direct):
            if side is not None:
                side.close()
        server.stop()
        world.close()
        if "Traceback" in server.log_path.read_text(errors="replace"):
            print(f"  the server's log holds a traceback: {server.log_path}")


# --- report ----------------------------------------------------------------------------------

def report(appends: list[Appends], reads: list[Reads], sizes: dict, workers: int,
           skipped: dict[str, str]) -> bool:
    print()
    print(f"Appends per second, median of {sizes['rounds']} interleaved rounds: HTTP "
          f"({CLIENTS} keep-alive clients, `sunledger serve` with {workers} worker"
          f"{'s' if workers > 1 else ''}) against the ledger's direct append (Ledger.submit, "
          "this process, same store)")
    header = (f"{'store':<11} {'shape':>12} {'actions/round':>13} {'direct/s':>9} "
              f"{'http/s':>8} {'ratio':>6}   {'spread direct | http':<24}")
    print(header)
    print("-" * len(header))
    for a in appends:
        d, h = a.rates["direct"], a.rates["http"]
        print(f"{a.store:<11} {str(a.per_call) + '/request':>12} {a.actions:>13} "
              f"{a.median('direct'):>9.0f} {a.median('http'):>8.0f} {a.ratio:>6.2f}   "
              f"{min(d):.0f}-{max(d):.0f} | {min(h):.0f}-{max(h):.0f}")
    print()
    print(f"Reads at a project of {READ_PROJECT_EVENTS:,} events: reads per second with "
          f"{CLIENTS} clients at once ({sizes['reads']} requests each per round, "
          f"{sizes['rounds']} rounds), and each request's latency with {CLIENTS} clients at once "
          "and with one client alone (baseline: GET /healthz, which reads nothing)")
    header = (f"{'store':<11} {'read':<20} {'reads/s':>8} {'x healthz':>10} "
              f"{'p50 | p99 ms, ' + str(CLIENTS) + ' at once':>24} {'p50 | p99 ms, alone':>21}")
    print(header)
    print("-" * len(header))
    floor = {r.store: statistics.median(r.rates) for r in reads if r.kind.startswith("healthz")}
    for r in reads:
        rate = statistics.median(r.rates)
        loaded = f"{r.p(r.loaded, 0.5):.2f} | {r.p(r.loaded, 0.99):.2f}"
        alone = f"{r.p(r.alone, 0.5):.2f} | {r.p(r.alone, 0.99):.2f}"
        print(f"{r.store:<11} {r.kind:<20} {rate:>8.0f} {rate / floor[r.store]:>10.2f} "
              f"{loaded:>24} {alone:>21}")
    for store, why in skipped.items():
        print(f"{store:<11} skipped: {why}")
    if sizes["rounds"] < 5:
        print(f"(only {sizes['rounds']} rounds of fewer actions: a --quick verdict is "
              "indicative; run without --quick to decide)")
    print()
    passed = True
    for a in appends:
        target = TARGETS[a.per_call]
        ok = a.ratio >= target
        passed &= ok
        print(f"TARGET appends over HTTP {a.per_call}/request {a.store} >= {target}x direct: "
              f"{a.ratio:.2f}x {'PASS' if ok else 'FAIL'}")
    for r in reads:
        if r.kind.startswith("healthz"):
            continue
        ok = r.p(r.loaded, 0.99) < READ_P99_MS
        passed &= ok
        print(f"TARGET read p99 {r.kind} {r.store}, {CLIENTS} clients at once, < "
              f"{READ_P99_MS:.0f} ms: {r.p(r.loaded, 0.99):.2f} ms {'PASS' if ok else 'FAIL'}")
    for store in skipped:
        print(f"TARGET {store}: SKIP")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--pg", metavar="URL", default=os.environ.get("SUNLEDGER_BENCH_PG"),
                        help="also PostgreSQL: a server URL (a schema of its own is made and "
                             "dropped), e.g. postgresql://postgres@127.0.0.1:5432/test "
                             "(default: $SUNLEDGER_BENCH_PG)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds")
    parser.add_argument("--read-workers", type=int, default=2,
                        help="the reads again from a server of this many processes (default "
                             "2, as many as the machine's cores; 1: not again)")
    args, unknown = parser.parse_known_args(argv)  # `./run bench ARGS` gives every bench the same
    if unknown:
        print(f"bench_api: ignoring arguments {unknown}", file=sys.stderr)
    sizes = dict(SIZES[args.quick])
    if args.rounds:
        sizes["rounds"] = args.rounds
    print(f"bench_api{' --quick' if args.quick else ''}: Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}")
    appends: list[Appends] = []
    reads: list[Reads] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="sunledger-bench-api-") as tmp:
        folder = Path(tmp)
        a, r = bench_store("sqlite", f"sqlite:{folder / 'ledger.db'}", folder, sizes, args.workers,
                           args.read_workers)
        appends += a
        reads += r
        if args.pg and not args.no_pg:
            import psycopg

            schema = f"bench_api_{uuid.uuid4().hex[:10]}"
            try:
                a, r = bench_store("postgresql", f"{args.pg.split('?')[0]}?schema={schema}",
                                   folder, sizes, args.workers, args.read_workers)
                appends += a
                reads += r
            finally:
                with psycopg.connect(args.pg.split("?")[0], autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        else:
            skipped["postgresql"] = "--no-pg" if args.no_pg else "no --pg URL"
    return 0 if report(appends, reads, sizes, args.workers, skipped) else 1


if __name__ == "__main__":
    sys.exit(main())
