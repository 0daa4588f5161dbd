"""Real servers for the HTTP tests: `sunledger serve` (or `sunledger witness serve`) in a
process of its own on a free loopback port, ready once /healthz answers, stopped with SIGTERM
as an operator stops it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SUNLEDGER = str(Path(sys.executable).parent / "sunledger")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A `sunledger` server command (`serve` by default) with `args`, its output in `log`."""

    def __init__(self, args: list[str], log: Path, command: tuple[str, ...] = ("serve",),
                 ready: str = "/healthz"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.log = log.open("wb")
        self.process = subprocess.Popen([SUNLEDGER, *command, *args, "--port", str(self.port)],
                                        cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}{ready}", timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the server did not start: {log.read_text()}")
            time.sleep(0.1)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, then wait (SIGKILL after 30 s); the exit status (uvicorn, once it has
        shut down gracefully, ends by the signal it was sent: -15)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def ledger_server(store_url: str, key: Path, log: Path, *extra: str) -> Server:
    return Server(["--store", store_url, "--ledger-key", str(key), *extra], log)


STOPPED_GRACEFULLY = (0, -15)
