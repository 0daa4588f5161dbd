"""Where a script's signed actions go: straight to the ledger in this process
(`Ledger.submit`), or over HTTP, through the Python client (api/client.py), to a real server
of that same ledger (api/http/ on uvicorn) on a free loopback port. Both answer the same:
the version an actor signs at, and a refusal as the ledger's typed error.

The server runs in a thread of this process and serves the very Ledger object the script
opened: the same store, the same key and the same clock. A simulated clock (the demo's 2025)
is then the server's clock too, without a back door: the ledger times are the scenario's,
and the server judges a signed request's `created` by that clock, as the client dates it.
The actors sign in the script; the server holds none of their keys."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx

from ledger.errors import LedgerError, NotInLog, StoreUnavailable
from ledger.evidence.envelope import SignedAction
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger

from .client import LedgerClient, ProblemError


class Direct:
    """Signed actions appended by the ledger in this process."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def version(self, signer: ActorSigner, stream: str) -> int:
        return self.ledger.stream_version(stream)

    def submit(self, *signed: SignedAction) -> None:
        self.ledger.submit(*signed)

    def close(self) -> None:
        pass


class OverHttp:
    """Signed actions sent to POST /v1/actions (several at once: /v1/actions/batch), and
    project versions read with GET /v1/projects/{p}/version signed by the actor about to
    act, from a server of `ledger` started here. `close` stops the server, which closes the
    ledger (as a server does when it stops)."""

    def __init__(self, ledger: Ledger, clock: Any, start_seconds: float = 30.0):
        import uvicorn

        from .http.app import create_app

        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.bind(("127.0.0.1", 0))  # bound here: no other process can take the port
        self.url = "http://127.0.0.1:%d" % listening.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(
            create_app(lambda: ledger), log_level="warning", server_header=False,
            timeout_graceful_shutdown=30))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [listening]},
                                       name="sunledger-http", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + start_seconds
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise StoreUnavailable(f"the HTTP server at {self.url} did not start")
            time.sleep(0.01)
        self.clock = clock
        self.http = httpx.Client(base_url=self.url, timeout=30.0)
        self.sender = LedgerClient(self.url, http=self.http, clock=clock)
        self.readers: dict[str, LedgerClient] = {}
        self.actions = self.posts = self.reads = 0  # what went over HTTP

    def version(self, signer: ActorSigner, stream: str) -> int:
        """The project's version, read as `signer` (a registered actor); a project with no
        event yet is at version 0 (the route knows none: 404)."""
        if not stream.startswith("project:"):
            raise ValueError(f"over HTTP only a project's version is read, not {stream!r}'s")
        reader = self.readers.get(signer.actor)
        if reader is None:
            reader = self.readers[signer.actor] = LedgerClient(
                self.url, signer=signer, http=self.http, clock=self.clock)
        project = quote(stream.split(":", 1)[1], safe="")
        self.reads += 1
        try:
            return reader.get(f"/v1/projects/{project}/version")["version"]
        except ProblemError as refused:
            if refused.type.endswith(f":{NotInLog.code}"):
                return 0
            raise as_ledger_error(refused) from None
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None

    def submit(self, *signed: SignedAction) -> None:
        self.actions, self.posts = self.actions + len(signed), self.posts + 1
        try:
            self.sender.submit(*signed)
        except ProblemError as refused:
            raise as_ledger_error(refused) from None
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None

    def summary(self) -> str:
        return (f"over HTTP: {self.actions} signed actions in {self.posts} POSTs to "
                f"/v1/actions and /v1/actions/batch, {self.reads} signed version reads")

    def close(self) -> None:
        """Stop the server: the requests in flight finish, then the ledger is closed."""
        if getattr(self, "http", None) is not None:
            self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=60)

    def _unreachable(self, error: httpx.HTTPError) -> StoreUnavailable:
        return StoreUnavailable(f"the HTTP server at {self.url} did not answer: {error}")


def _error_kinds(kind: type = LedgerError) -> dict[str, type]:
    """Each code and the error class that names it (not a subclass that inherits it)."""
    kinds = {kind.code: kind} if "code" in vars(kind) else {}
    for sub in kind.__subclasses__():
        kinds = {**_error_kinds(sub), **kinds}
    return kinds


def as_ledger_error(refused: ProblemError) -> LedgerError:
    """A server's problem+json as the ledger's typed error it came from (its code, detail
    and members: a refusal's rule and article, a stale stream's version); a problem of the
    HTTP layer as a plain LedgerError with its detail."""
    code = refused.type.rpartition(":")[2]
    kind = _error_kinds().get(code, LedgerError)
    members = {k: v for k, v in refused.problem.items()
               if k not in ("type", "title", "status", "detail")}
    return kind(refused.detail or str(refused), **members)


__all__ = ["Direct", "OverHttp", "as_ledger_error"]
