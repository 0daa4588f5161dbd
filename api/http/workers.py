"""`sunledger serve --workers N`: N server processes on one port, each listening on a socket
of its own (SO_REUSEPORT), so that the kernel spreads the connections over the processes.

Why not uvicorn's own workers: they share one listening socket, and whichever process wakes
first accepts every connection waiting (asyncio accepts up to its backlog at once). Keep-alive
clients then stay with that process: eight connections to two processes were measured 7 + 1,
8 + 0 and 5 + 3, and the second process sat idle. With a socket each, the kernel hashes every
new connection to one of them.

The supervisor (this process) holds the port bound but not listening, so nothing else takes it
while a worker restarts; starts the workers (spawned: each imports the app afresh, as
api.http.app.from_environment makes it from the environment); replaces a worker that dies;
and on SIGTERM or Ctrl-C asks each to stop and waits for the requests in flight. A worker that
dies within its first seconds twice running (the store refuses it, say) stops the server."""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import threading
import time
from typing import Any

APP = "api.http.app:from_environment"
EARLY_DEATH = 10.0  # seconds: a worker dead this soon after its start did not come up


def listener(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that shares the port with the other workers'."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(settings: dict[str, Any]) -> None:
    """One worker process: uvicorn on a listening socket of its own."""
    import uvicorn

    sock = listener(settings["host"], settings["port"])
    uvicorn.Server(uvicorn.Config(APP, factory=True, **settings)).run(sockets=[sock])


def run(workers: int, settings: dict[str, Any]) -> None:
    """Serve with `workers` processes until SIGTERM or SIGINT; SystemExit(2) if the workers
    cannot come up. `settings` are uvicorn.Config's (host and port among them)."""
    spawn = multiprocessing.get_context("spawn")
    held = listener(settings["host"], settings["port"])  # bound, never listening
    stopping = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stopping.set())
                for s in (signal.SIGINT, signal.SIGTERM)}

    def start() -> tuple[Any, float]:
        process = spawn.Process(target=_worker, args=(settings,), name="sunledger-serve")
        process.start()
        return process, time.monotonic()

    running = [start() for _ in range(workers)]
    failed = False
    try:
        early = 0
        while not stopping.wait(0.5):
            for i, (process, began) in enumerate(running):
                if process.exitcode is None:
                    continue
                early = early + 1 if time.monotonic() - began < EARLY_DEATH else 0
                print(f"sunledger: a server process (pid {process.pid}) ended with code "
                      f"{process.exitcode}" + (
                          "; it did not come up twice running: stopping" if early >= 2 else
                          "; starting another"), file=sys.stderr, flush=True)
                if early >= 2:
                    failed = True
                    stopping.set()
                    break
                running[i] = start()
    finally:
        for process, _ in running:
            if process.exitcode is None:
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + settings.get("timeout_graceful_shutdown", 30) + 5
        for process, _ in running:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.exitcode is None:
                process.kill()
                process.join()
        held.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if failed:
        raise SystemExit(2)
