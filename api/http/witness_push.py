"""The ledger server's side of witnessing (C2SP tlog-witness): a background worker per
configured witness that sends it every newer checkpoint, with the consistency proof from the
size it cosigned last, and keeps the cosignature it returns in the store.

A witness is configured by its submission URL and its verifier key (`sunledger serve
--witness URL KEY`): the key checks what it answers, and is the name its cosignatures are
kept under (evidence-format §18); lines by any other key are ignored, as tlog-witness says.

Each worker looks at the store's newest checkpoint every `poll` seconds. When the witness
has not cosigned it, the worker POSTs `old m`, the proof from m, and the signed checkpoint to
<URL>/add-checkpoint, where m is the size the witness cosigned last: at first the largest the
store holds a cosignature of it for, then whatever the witness says in a 409 (text/x.tlog.size),
after which it asks again at once. A 200 is checked (a cosignature/v1 line by the witness's
key over this checkpoint) and kept (`recorder.add_cosignature`). Anything else (the witness is
down, too slow, refuses, or answers what is not a cosignature) is a failure: kept in the
status (GET /v1/witnesses) and retried after `first` seconds, doubling up to `cap`.

Appends never wait for a worker: workers are threads of their own that only read the
store's checkpoints and tree and add cosignature rows. Several servers on one store may all
push the same checkpoint; each answer is right: a witness that cosigned it already says so
with a 409 naming its size (then the store holds the line another server kept; if not, the
same checkpoint is sent again from that size, and cosigned again), and a cosignature kept
twice is kept once (the table's key is the tree size and the witness).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Annotated, Any, Callable, Sequence

import httpx
from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from ledger.errors import BadNote, LedgerError
from ledger.evidence.canonical import format_time
from ledger.log.checkpoints import latest_checkpoint
from ledger.log.cosigning import AddCheckpoint
from ledger.log.notes import COSIGNATURE_V1, DASH, cosignature_time, parse_verifier_key, split_note
from ledger.log.tree import StoredLog

log = logging.getLogger("sunledger.witness-push")
MAX_ANSWER_BYTES = 64 * 1024  # a witness's answer: a few signature lines, or a size
CONFLICTS_IN_A_ROW = 4  # 409s with a new size answered at once, before it counts as a failure


@dataclass(frozen=True)
class PushTiming:
    """How often a worker looks for a new checkpoint, how it backs off, how long it waits."""

    poll: float = 1.0  # seconds between looks at the newest checkpoint while all is well
    first: float = 1.0  # the first retry after a failure, in seconds; each next one doubles
    cap: float = 300.0  # ... up to this
    timeout: float = 10.0  # for one request to a witness: connect, send, answer

    def backoff(self, failures: int) -> float:
        return min(self.cap, self.first * 2 ** min(failures - 1, 62))


@dataclass(frozen=True)
class WitnessConfig:
    """A witness to push to: its submission URL (add-checkpoint is posted below it) and its
    verifier key (name+hash+base64(0x04 ‖ public key))."""

    url: str
    key: str

    def __post_init__(self) -> None:
        check_witness(self.url, self.key)


def check_witness(url: str, key: str) -> None:
    """A witness URL is http(s) with a host; its key a cosignature/v1 verifier key. BadNote
    (saying which) otherwise."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise BadNote(f"witness URL {url!r} is not a URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise BadNote(f"witness URL {url!r} is not an http:// or https:// URL with a host")
    if parse_verifier_key(key).key_type != COSIGNATURE_V1:
        raise BadNote(f"witness key {key!r} is not a cosignature/v1 key (type 0x04): it is the "
                      "key `sunledger witness key` prints")


class Failure(Exception):
    """One attempt failed: `message` says how; `status` is the witness's HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message, self.status = message, status


def _utc(seconds: float | None) -> str | None:
    return None if seconds is None else format_time(datetime.fromtimestamp(seconds, timezone.utc))


class WitnessWorker:
    """Pushes one witness the store's checkpoints, in a thread of its own."""

    def __init__(self, recorder: Any, config: WitnessConfig, timing: PushTiming,
                 stop: threading.Event, clock: Callable[[], float] = time.time):
        self.recorder, self.config, self.timing, self.stop, self.clock = \
            recorder, config, timing, stop, clock
        self.verifier = parse_verifier_key(config.key)
        self.endpoint = config.url.rstrip("/") + "/add-checkpoint"
        self.known: int | None = None  # the size the witness cosigned last, as far as we know
        self.kept: int | None = None  # the newest size whose cosignature by it the store holds
        self._lock = threading.Lock()  # the status, read by the endpoint's threads
        self._status: dict[str, Any] = {
            "url": config.url, "name": self.verifier.name, "key": config.key,
            "checkpoint_size": None, "cosigned_size": None, "cosigned_at": None,
            "last_error": None,
            "last_error_status": None, "last_error_at": None, "consecutive_failures": 0,
            "next_attempt": None}
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"witness-push {self.verifier.name}")

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._status)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status.update(changes)

    # --- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        headers = {"User-Agent": f"sunledger/{version('sunledger')} (tlog-witness client)",
                   "Content-Type": "text/plain; charset=utf-8"}
        with httpx.Client(timeout=self.timing.timeout, headers=headers,
                          follow_redirects=False) as client:
            failures = 0
            while not self.stop.is_set():
                try:
                    self._push(client)
                except Failure as failure:
                    failures += 1
                    self._failed(failure, failures)
                    wait = self.timing.backoff(failures)
                except Exception as error:  # never let the worker die; say what happened
                    failures += 1
                    self._failed(Failure(f"{type(error).__name__}: {error}"), failures)
                    wait = self.timing.backoff(failures)
                else:
                    if failures:
                        failures = 0
                        self._set(consecutive_failures=0, next_attempt=None)
                    wait = self.timing.poll
                self.stop.wait(wait)

    def _failed(self, failure: Failure, failures: int) -> None:
        now = self.clock()
        if self.stop.is_set():
            return  # stopping: a request cut short is no news
        self._set(last_error=failure.message, last_error_status=failure.status,
                  last_error_at=_utc(now), consecutive_failures=failures,
                  next_attempt=_utc(now + self.timing.backoff(failures)))
        log.warning("witness %s (%s): %s; retrying in %.0f s", self.verifier.name,
                    self.config.url, failure.message, self.timing.backoff(failures))

    # --- one look at the store, and as many requests as it takes -------------------------

    def _push(self, client: httpx.Client) -> None:
        try:
            last = latest_checkpoint(self.recorder)
        except Exception as error:  # the store does not answer now
            raise Failure(f"the store did not give its latest checkpoint: "
                          f"{getattr(error, 'message', error)}") from None
        if last is None:
            return
        size, note = last[0], last[1]
        self._set(checkpoint_size=size)
        if self.known is None:  # until the witness says otherwise: as the store keeps
            self.known = self._largest_kept()
            self.kept = self.known or None
            if self.kept:
                self._set(cosigned_size=self.kept)
        for _ in range(CONFLICTS_IN_A_ROW):
            if self.known > size:  # cosigned beyond our newest: another server's, just issued?
                last = latest_checkpoint(self.recorder)
                size, note = last[0], last[1]
                if self.known > size:
                    raise Failure(f"the witness has cosigned size {self.known} of this log, "
                                  f"beyond its newest checkpoint ({size}): it was shown a "
                                  "checkpoint this store does not keep")
            if self.known == size and self._kept(size):
                return
            answer = self._send(client, self.known, size, note)
            if answer is None:  # cosigned and kept
                return
            self.known = answer  # a 409: the size it cosigned last; ask again from there
            self._set(cosigned_size=answer)
        raise Failure(f"the witness answered {CONFLICTS_IN_A_ROW} times in a row with another "
                      "size it cosigned last (409): other servers push it as fast")

    def _largest_kept(self) -> int:
        """The largest size the store keeps a cosignature of this witness for (0: none)."""
        return max((s for s, witness, _ in self.recorder.cosignatures()
                    if witness == self.config.key), default=0)

    def _kept(self, size: int) -> bool:
        if self.kept == size:
            return True
        if any(s == size and witness == self.config.key
               for s, witness, _ in self.recorder.cosignatures()):
            self.kept = size
            self._set(cosigned_size=size)
            return True
        return False

    def _send(self, client: httpx.Client, old: int, size: int, note: str) -> int | None:
        """Ask the witness to cosign; keep the cosignature (None), or return the size a 409
        says the witness cosigned last."""
        try:
            proof = StoredLog(self.recorder).consistency(old, size) if old < size else []
        except LedgerError as error:
            raise Failure(f"no consistency proof from size {old} to {size}: {error.message}") \
                from None
        body = AddCheckpoint(old, proof, note).text().encode()
        status, media, text = self._post(client, body)
        if status == 200:
            self._keep(size, note, text)
            return None
        if status == 409 and media == "text/x.tlog.size":
            told = text.strip("\n")
            if not (told.isascii() and told.isdigit() and text.endswith("\n")
                    and (told == "0" or not told.startswith("0")) and len(told) <= 19):
                raise Failure(f"the witness answered 409 with a size that is not one: {text[:80]!r}",
                              409)
            if int(told) == old:
                raise Failure(f"the witness answered 409 naming size {old}, the size it was "
                              "sent: not a tlog-witness answer", 409)
            return int(told)
        raise Failure(f"the witness refused the checkpoint of size {size} (old size {old}): "
                      f"{status} {describe(status, media, text)}", status)

    def _post(self, client: httpx.Client, body: bytes) -> tuple[int, str, str]:
        try:
            with client.stream("POST", self.endpoint, content=body) as response:
                data = b""
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_ANSWER_BYTES:
                        raise Failure(f"the witness's answer is over {MAX_ANSWER_BYTES} bytes: "
                                      "not a tlog-witness answer", response.status_code)
                media = response.headers.get("content-type", "").split(";")[0].strip().lower()
                return response.status_code, media, data.decode("utf-8", "replace")
        except httpx.TimeoutException:
            raise Failure(f"no answer from {self.endpoint} within {self.timing.timeout:g} s") \
                from None
        except httpx.HTTPError as error:
            raise Failure(f"cannot reach {self.endpoint}: {error or type(error).__name__}") \
                from None

    def _keep(self, size: int, note: str, text: str) -> None:
        """Check the witness's cosignature of this checkpoint and keep it in the store."""
        checkpoint_text = split_note(note)[0]
        lines = [line for line in text.split("\n") if line]
        if not text.endswith("\n") or not lines or not all(
                line.startswith(DASH + " ") for line in lines):
            raise Failure("the witness answered 200 with what is not note signature lines", 200)
        mine = [line for line in lines if line.startswith(f"{DASH} {self.verifier.name} ")]
        good = []
        for line in mine:
            try:
                cosignature_time(checkpoint_text, line + "\n", self.verifier)
                good.append(line)
            except BadNote:
                continue  # another key of that name, or not a cosignature: ignored
        if not good:
            raise Failure(f"the witness answered 200 without a cosignature by {self.config.key} "
                          f"of the checkpoint of size {size}", 200)
        try:
            self.recorder.add_cosignature(size, self.config.key, good[0] + "\n")
        except Exception as error:
            raise Failure(f"cosigned at size {size}, but the store did not keep the "
                          f"cosignature: {getattr(error, 'message', error)}") from None
        self.known = self.kept = size
        self._set(cosigned_size=size, cosigned_at=_utc(self.clock()))
        log.info("witness %s cosigned size %d", self.verifier.name, size)


def describe(status: int, media: str, text: str) -> str:
    """A witness's refusal in one line: a problem's detail, else the start of its text."""
    if media == "application/problem+json":
        import json

        try:
            detail = json.loads(text).get("detail")
            if isinstance(detail, str):
                return detail[:500]
        except (ValueError, AttributeError):
            pass
    first = " ".join(text.split())[:200]
    return first or "(no body)"


class WitnessPusher:
    """The workers of a server process: started and stopped with the app (its lifespan)."""

    def __init__(self, recorder: Any, witnesses: Sequence[WitnessConfig],
                 timing: PushTiming | None = None, clock: Callable[[], float] = time.time):
        self.stop_event = threading.Event()
        self.workers = [WitnessWorker(recorder, w, timing or PushTiming(), self.stop_event, clock)
                        for w in witnesses]

    def start(self) -> None:
        for worker in self.workers:
            worker.thread.start()

    def stop(self, seconds: float = 2.0) -> None:
        """Stop the workers; wait up to `seconds` for a request in flight (a worker still
        waiting on a witness after that is a daemon thread: it keeps nothing more)."""
        self.stop_event.set()
        deadline = time.monotonic() + seconds
        for worker in self.workers:
            if worker.thread.is_alive():
                worker.thread.join(max(0.0, deadline - time.monotonic()))

    def status(self) -> list[dict[str, Any]]:
        return [worker.status() for worker in self.workers]


@with_config(ConfigDict(json_schema_extra={"examples": [{  # no null: FastAPI drops them
    "url": "https://witness.example.org/tlog", "name": "witness.example.org/w1",
    "key": "witness.example.org/w1+78be9026+Af1qjh9bqg/Xd7Q8AKAFYvL4Worx3AzLfLsKB9gr1erD",
    "checkpoint_size": 1204, "cosigned_size": 1180, "cosigned_at": "2025-04-08T01:12:03.000000Z",
    "last_error": "the witness refused the checkpoint of size 1204 (old size 1180): 503 "
                  "try again later", "last_error_status": 503,
    "last_error_at": "2025-04-08T01:13:00.000000Z", "consecutive_failures": 2,
    "next_attempt": "2025-04-08T01:13:04.000000Z"}]}))
class WitnessStatus(TypedDict):
    """One configured witness, as this server process's worker for it sees it (times are
    RFC 3339 UTC, by this server's clock)."""

    url: Annotated[str, Field(description="its submission URL (POST <url>/add-checkpoint)")]
    name: Annotated[str, Field(description="its key's name")]
    key: Annotated[str, Field(description="its verifier key")]
    checkpoint_size: Annotated[int | None, Field(description="the newest checkpoint the "
                                                             "worker saw")]
    cosigned_size: Annotated[int | None, Field(description="the size it cosigned last")]
    cosigned_at: Annotated[str | None, Field(description="when")]
    last_error: Annotated[str | None, Field(description="the last failure, null once it "
                                                        "cosigns again")]
    last_error_status: Annotated[int | None, Field(description="the witness's HTTP status "
                                                               "then, if it answered")]
    last_error_at: str | None
    consecutive_failures: int
    next_attempt: Annotated[str | None, Field(description="when it is tried again after a "
                                                          "failure")]


router = APIRouter(prefix="/v1", tags=["witnesses"])


@router.get("/witnesses", summary="The witnesses this server sends checkpoints to, and how "
                                  "each is doing", response_description="one per witness, "
                                                                         "in the order configured")
def witnesses(request: Request) -> list[WitnessStatus]:
    """Per witness: its URL, name and key; the size of the newest checkpoint its worker saw;
    the size it cosigned last (as it said, or as the store keeps) and when; the last failure
    (message, the witness's HTTP status, when), the failures in a row, and when it is tried
    next (null while all is well). Each server process reports its own workers."""
    pusher = getattr(request.app.state, "witness_pusher", None)
    return pusher.status() if pusher is not None else []
