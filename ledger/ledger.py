"""The ledger: the one write path. Every action is checked (form, signer, key, signature,
nonce, expected version, rules), sealed into the project's hash chain, and stored with its
receipt and nonce in one transaction. A refusal writes nothing."""

from __future__ import annotations

import contextlib
import threading
import warnings
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, Sequence
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, PersistenceError

from ledger.evidence.canonical import (
    NotLedgerJSON, canonical_json, check_ledger_json, format_time, is_time, parse_time,
)
from ledger.evidence.catalogue import EVENT_TYPES
from ledger.evidence.envelope import (
    IDENTIFIER, KEY_ID, LEDGER_ACTOR, LEDGER_STREAM, NONCE, SEALED_STAGE_TYPES, STREAM, ZERO_HASH,
    Action, SignedAction, actor_stream, encode_signature, seal, stream_uuid,
)
from ledger.evidence.keys import (
    SigningKey, encode_public_key, key_id, load_or_create_key, read_private_key,
)
from ledger.evidence.receipts import Receipt, sign_receipt
from ledger.evidence.registry import (
    ActorRecord, TrustAnchors, check_registry_change, ledger_actor, usable_key,
)
from ledger.log.checkpoints import (
    CheckpointPolicy, HeadsFold, check_origin, heads_at, issue_checkpoint, latest_checkpoint,
    latest_signed, log_verifier, parse_checkpoint, trusted_tree,
)
from ledger.log.merkle import CompactTree
from ledger.log.notes import split_note
from ledger.log.tree import add_leaves, integrate_earlier_events
from ledger.procedures.authority import AUTHORITY, role_problem
from ledger.procedures.calendar import TradingCalendar
from ledger.procedures.refusals import day_key, refusal_action, refusal_bound, refusal_stream
from ledger.procedures.register import Register
from ledger.procedures.register import check as register_rules
from ledger.procedures.rules import RuleBook
from ledger.procedures.tender import Procedure, ProjectState, Step
from ledger.state_cache import Snapshots, StreamCache
from ledger.stores.request_nonces import RequestNonceFile
from ledger.stores.write_turn import WriteTurn
from ledger.stores.tables import Transaction
from ledger.stores.url import (
    StoreURL, lock_waited_in_vain, no_store, parse_store_url, store_failure, store_lock,
    store_locked,
)
from .errors import (
    BadNote, BadSignature, LedgerError, LedgerKeyError, MalformedAction, NonceReused,
    NotInLog, NotPermitted, OversizedPayload, RuleRefused, StaleVersion,
    StoreUnavailable,
)
from .streams import (
    ActorStream, EnvelopeMapper, LedgerStream, ProjectStream, RefusalStream, RegisterStream, Stream,
    stream_class,
    stream_kind,
)

MAX_PAYLOAD_BYTES = 64 * 1024  # canonical bytes of one payload
MAX_BATCH = 1000  # actions in one atomic append
MOVED_TRIES = 50  # tries of an append while other processes keep moving the log on
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, for the edges (CLI, API). Domain code receives a clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


FOLD_PAGE = 1000  # envelopes read at a time when a stream is folded from its first event


class Ledger(Application):
    name = "sunledger"

    key: SigningKey  # the ledger key: read, or made for a new store, when the ledger opens

    def __init__(self, url: StoreURL, clock: Clock,
                 checkpoints: CheckpointPolicy | None = None, rules: RuleBook | None = None,
                 calendar: TradingCalendar | None = None):
        self.url = url
        self.clock = clock
        self.procedure = Procedure(rules, calendar, checking=True)
        self.checkpoint_policy = checkpoints or CheckpointPolicy()
        self._last_checkpoint: tuple[int, datetime] | None = None  # (size, when), once read
        self._heads: HeadsFold | None = None  # the heads map, carried from checkpoint to checkpoint
        self._timer: threading.Timer | None = None  # the every_seconds checkpoint, when pending
        self._write = threading.Lock()  # one append at a time in this process
        self._closed = False
        # one writer at a time (any write) across the threads and processes that write one
        # SQLite file (stores/write_turn.py): an append holds it from its read of the frontier
        self._turn = WriteTurn(url) if url.engine == "sqlite" else contextlib.nullcontext()
        self._tree: CompactTree | None = None  # the Merkle log's frontier, as last appended
        self._last_time: datetime | None = None  # the newest ledger time recorded, once read
        self.started_now = False  # whether this open started the ledger (a new store)
        self._organisations: dict[str, str] = {}  # actor -> registered organisation (fixed)
        self._snapshots = Snapshots()  # streams as of every hundredth version, as folded
        # Streams are cached without a read per append: the store's unique (stream, version)
        # key and the key guard inside the transaction catch another writer.
        self._streams = StreamCache()
        super().__init__(env={
            **url.eventsourcing_env(),
            # missing tables only: a new store's, or those a store written before the
            # Merkle log lacks (the store itself was checked first: store_lock)
            "CREATE_TABLE": "y",
        })
        self._request_nonces: RequestNonceFile | None = None
        if isinstance(self._turn, WriteTurn):  # SQLite
            self.recorder.take_turns(self._turn)  # every write, not only appends
            self._request_nonces = RequestNonceFile(url)
            self.recorder.keep_request_nonces_in(self._request_nonces)

    # --- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, clock: Clock | None = None, key_path: Path | None = None,
             origin: str | None = None, checkpoints: CheckpointPolicy | None = None,
             rules: RuleBook | None = None, calendar: TradingCalendar | None = None,
             create: bool = True) -> "Ledger":
        """Open the ledger in the store `url` with its key (`key_path`, else the store's
        default place). With `create`, a missing store is created and started, with a new
        key unless the key file holds one; without it, a missing store is refused
        (StoreUnavailable: create one with `sunledger init`). Something that is not a
        Sunledger store is always refused. Processes that open one new store at once all
        succeed, with one key and one ledger.started/v1 event."""
        store = parse_store_url(url)
        with store_lock(store, create=create):
            try:
                ledger = cls(store, clock or SystemClock(), checkpoints, rules, calendar)
            except PersistenceError as error:
                raise store_failure(store, error) from None
        weakref.finalize(ledger, ledger.factory.close)  # at the latest at exit
        integrate_earlier_events(ledger.recorder)
        ledger.started_now = ledger._start(origin, key_path or store.default_key_path(), create)
        return ledger

    def construct_mapper(self) -> EnvelopeMapper:
        return EnvelopeMapper()

    def _start(self, origin: str | None, key_file: Path, create: bool) -> bool:
        """Take the ledger key, and start a new store's ledger with it (its first event,
        ledger.started/v1); return whether this call started it. A key is made only to
        start a ledger: a started store's key file must exist and hold the key it was
        started with. Of processes that start one store at once, one appends the event and
        the others, with the same key, accept it."""
        anchors = self.anchors()
        if anchors.public_key is None:
            if not create:
                raise no_store(self.url, "its ledger was never started")
            self.key = load_or_create_key(key_file)
            origin = origin or f"sunledger.invalid/{self.key.key_id[:16]}"
            try:
                check_origin(origin)
            except BadNote:
                raise MalformedAction(f"origin {origin!r} names the log in its checkpoints: "
                                      "no spaces and no '+' (e.g. ledger.example.gov.cn/2025)",
                                      origin=origin) from None
            action = Action(LEDGER_STREAM, "ledger.started/v1",
                            {"origin": origin, "public_key": encode_public_key(self.key.public_key)},
                            LEDGER_ACTOR, self.key.key_id, 0, self.key.key_id,
                            format_time(self._now(reread=True)))
            try:
                self._append([SignedAction(action, self.key.sign(action.signing_bytes()))],
                             starting=True)
                return True
            except (NonceReused, StaleVersion):  # another process started it first
                anchors = self.anchors()
        elif not key_file.exists():
            raise LedgerKeyError(
                f"there is no ledger key at {key_file}: this store was started with key id "
                f"{key_id(anchors.public_key)}; give its key with --ledger-key",
                store=self.url.display())
        else:
            self.key = read_private_key(key_file)
        if anchors.public_key != self.key.public_key:
            raise LedgerKeyError(
                f"the ledger key in use (key id {self.key.key_id}) is not the key this store "
                f"was started with; give the right key with --ledger-key", store=self.url.display())
        if origin is not None and origin != anchors.origin:
            raise LedgerKeyError(f"this store's origin is {anchors.origin!r}, not {origin!r}")
        return False

    # --- reading -------------------------------------------------------------------------

    def stream(self, stream: str, *, fresh: bool = True,
               head: tuple[int, bytes] | None | bool = False) -> Stream | None:
        """A stream's current state. `fresh=False` trusts this process's cache; `fresh`
        checks the cached state against the stream's stored head (one read of the primary
        key) and folds in only the events after it, so a read costs the same at the
        ten-thousandth event as at the tenth; `head`, when given, is that head as the caller
        just read it (`stream_head`'s answer, None for no stream). The state is this
        process's cached object: read it, never change it."""
        uid = stream_uuid(stream)
        cached = self._cached(uid)
        if cached is not None and not fresh:
            return cached
        if head is False:
            head = self.recorder.stream_head(uid)
        if head is None:
            self._evict(stream)
            return None
        if at_head(cached, head):
            return cached
        version = head[0]
        # the newer events folded into a copy: a state handed out is never changed after
        folded = cached.copy() if cached is not None and cached.version <= version else None
        if folded is None or not folded.fold(self._envelopes(uid, cached.version)):
            self._snapshots.forget(uid)  # new, or the store is not what was cached
            folded = self._fold_from_first(stream, uid, keep=False)
            if folded is None:  # rows gone since the head was read: `verify` will say
                self._evict(stream)
                return None
        self._cache(folded)
        return folded

    def stream_kept(self, stream: str,
                    head: tuple[int, bytes] | None | bool = False) -> Stream | None:
        """This process's kept state of a stream, reading nothing: as last read, or, given
        the stored `head` just read (`stream_head`'s answer), only if it is at that head.
        None if none is kept or it is not at the head (`stream` reads what is needed)."""
        cached = self._cached(stream_uuid(stream))
        if head is False or cached is None:
            return cached
        return cached if at_head(cached, head) else None

    def stream_at(self, stream: str, version: int) -> Stream | None:
        """A stream's state as of its `version` (as of its newest, if it has fewer; None if
        it has none by then). Folded from the nearest snapshot this process keeps at or
        before that version (ledger/state_cache.py), after checking that the stored event at
        the snapshot's version still has the snapshot's head hash, in the same range read
        as the events after it. Snapshots are kept every SNAPSHOT_EVERY versions as folds
        pass them, within the bounds of `Snapshots`: with the one below still kept, at most
        SNAPSHOT_EVERY events are folded; once it was let go, the fold starts from the first
        event. The state is this process's object: read it, never change it."""
        uid = stream_uuid(stream)
        if version < 1:
            return None
        base = self._snapshots.nearest(uid, version)
        if base is not None:
            envelopes = self._envelopes(uid, base.version - 1, version)
            if envelopes and envelopes[0]["hash"] == base.head:
                folded = base.copy()
                if folded.fold(envelopes[1:], keep=self._snapshots.keep):
                    return folded
            self._snapshots.forget(uid)  # the store is not what the snapshot was folded from
        return self._fold_from_first(stream, uid, version)

    def _fold_from_first(self, stream: str, uid: UUID, upto: int | None = None,
                         keep: bool = True) -> Stream | None:
        """Fold a stream from its first event (up to `upto`), FOLD_PAGE envelopes read at a
        time: memory holds one page of them, however long the stream. With `keep`, snapshots
        are kept on the way (for as-of reads; a current-state read has no use for them)."""
        folded = stream_class(stream)(uid)
        while upto is None or folded.version < upto:
            start = folded.version
            last = start + FOLD_PAGE if upto is None else min(upto, start + FOLD_PAGE)
            page = self._envelopes(uid, start, last)
            if not folded.fold(page, linked=False, keep=self._snapshots.keep if keep else None):
                raise StoreUnavailable(f"a version of {stream} is missing from the store; "
                                       "run `sunledger verify`", stream=stream)
            if len(page) < last - start:
                break  # the stream ends here
        return folded if folded.version else None

    def _envelopes(self, uid: UUID, after: int, upto: int | None = None) -> list[dict]:
        return [orjson.loads(state) for state in self.recorder.stream_states(uid, after, upto)]

    def _cached(self, uid: UUID) -> Stream | None:
        return self._streams.get(uid)

    def _evict(self, stream: str) -> None:
        self._streams.evict(stream_uuid(stream))

    def _cache(self, stream: Stream) -> None:
        self._streams.put(stream)

    def recorded_receipt(self, signed: SignedAction) -> Receipt | None:
        """The receipt of this very signed action if the ledger recorded it (the same actor,
        nonce and signature at the version it asked for): a client that sends an action again
        after losing the answer gets the first receipt, never a second event."""
        a = signed.action
        uid = stream_uuid(a.stream)
        mine = (a.actor, a.nonce, encode_signature(signed.signature))
        if a.expected_version is None:  # a sealed-stage action: wherever the ledger placed it
            event = self._newest_with(uid, mine)
        else:
            found = self._envelopes(uid, a.expected_version, a.expected_version + 1)
            event = found[0] if found else None
        if event is None or (event["actor"], event["nonce"], event["signature"]) != mine:
            return None
        version = event["version"]
        leaf = self.recorder.leaf_of(uid, version)
        rows = self.recorder.select_receipts(leaf[1] - 1, leaf[1]) if leaf else []
        if not rows:
            return None
        return Receipt.of_row(rows[0])

    def _newest_with(self, uid: UUID, signed: tuple[str, str, str]) -> dict | None:
        """The newest event of a stream with this (actor, nonce, signature), read from the
        head backwards a page at a time (a re-sent action is recent)."""
        head = self.recorder.stream_head(uid)
        upto = head[0] if head else 0
        while upto > 0:
            after = max(0, upto - 256)
            for event in reversed(self._envelopes(uid, after, upto)):
                if (event["actor"], event["nonce"], event["signature"]) == signed:
                    return event
            upto = after
        return None

    def leaf_index_of(self, receipt: Receipt) -> int:
        """The Merkle log's leaf index of an event the ledger receipted."""
        found = self.recorder.leaf_of(stream_uuid(receipt.stream), receipt.version)
        if found is None:
            raise NotInLog(f"{receipt.stream} has no version {receipt.version} in this log",
                           stream=receipt.stream, version=receipt.version)
        return found[0]

    def stream_version(self, stream: str) -> int:
        """A stream's newest version (0 if it has none): one read of the primary key."""
        head = self.recorder.stream_head(stream_uuid(stream))
        return head[0] if head else 0

    def registered(self, actor: str, *, fresh: bool = True,
                   head: tuple[int, bytes] | None | bool = False) -> ActorRecord | None:
        """An actor as registered (its keys, roles, organisation), None if it is not: the
        `ledger` actor from the trust anchors, any other from its actor stream (`fresh` and
        `head` as `stream` takes them)."""
        if actor == LEDGER_ACTOR:
            return ledger_actor(self.anchors())
        stream = self.stream(actor_stream(actor), fresh=fresh, head=head)
        return stream.actor if isinstance(stream, ActorStream) else None

    def registered_kept(self, actor: str,
                        head: tuple[int, bytes] | None | bool = False) -> ActorRecord | None:
        """An actor as this process keeps its registration, reading nothing (`head` as
        `stream_kept` takes it); None if it is not kept (or not at `head`), and for the
        `ledger` actor, whose trust anchors are read afresh (`registered` reads what is
        needed)."""
        if actor == LEDGER_ACTOR:
            return None
        stream = self.stream_kept(actor_stream(actor), head)
        return stream.actor if isinstance(stream, ActorStream) else None

    def anchors(self) -> TrustAnchors:
        found = self.stream(LEDGER_STREAM)
        return found.anchors if isinstance(found, LedgerStream) else TrustAnchors()

    @property
    def origin(self) -> str:
        return self.anchors().origin or ""

    def last_time(self) -> datetime | None:
        """The ledger time of the newest recorded event (None for an empty store)."""
        stored = self.recorder.last_ledger_time()
        try:
            return parse_time(stored) if stored is not None else None
        except ValueError:  # a changed receipt row: `verify` reports it; the clock decides
            return None

    def next_time(self) -> datetime:
        """The ledger time the next record would have if it were appended now (another
        writer may append first: an append re-reads it)."""
        return self._now(reread=True)

    def _now(self, reread: bool = False) -> datetime:
        """The ledger time of the next record: the clock, held at the newest recorded
        ledger time while the clock is behind it (set back, or another server's clock ahead),
        so that ledger time never goes backwards (evidence-format §7)."""
        if reread or self._last_time is None:
            self._last_time = self.last_time() or _EPOCH
        return max(self.clock.now(), self._last_time)

    # --- checkpoints ---------------------------------------------------------------------

    def checkpoint(self) -> str:
        """Sign and keep a checkpoint of the log as it stands now (the newest, if nothing
        was appended since); return the signed note."""
        with self._write:
            return self._issue_checkpoint()

    def _checkpoint_if_due(self) -> str | None:
        """After an append: issue a checkpoint if the policy says one is due, else make sure
        one will come (the timer)."""
        if self._last_checkpoint is None:
            last = latest_checkpoint(self.recorder)
            self._last_checkpoint = (last[0], parse_time(last[2])) if last else (0, _EPOCH)
        size = self._tree.size if self._tree is not None else self.recorder.tree_size()
        last_size, when = self._last_checkpoint
        seconds = (self.clock.now() - when).total_seconds()
        if self.checkpoint_policy.due(size, last_size, seconds):
            return self._issue_checkpoint()
        if size > last_size:
            self._schedule_checkpoint()
        return None

    def _schedule_checkpoint(self) -> None:
        """New leaves wait for a checkpoint: one comes at the latest every_seconds from now,
        even if nothing else is appended (a daemon timer of this process)."""
        seconds = self.checkpoint_policy.every_seconds
        if self._timer is None and seconds != float("inf"):
            self._timer = threading.Timer(seconds, self._on_timer)
            self._timer.daemon = True
            self._timer.start()

    def _on_timer(self) -> None:
        with self._write:
            if self._closed:
                return
            self._timer = None
            try:
                last = self._last_checkpoint[0] if self._last_checkpoint else 0
                if self._tree is not None and self._tree.size > last:
                    self._issue_checkpoint()
            except LedgerError as error:  # e.g. a changed tree table: say so, sign nothing
                warnings.warn(f"no checkpoint was signed: {error.message}", stacklevel=1)

    def close(self) -> None:
        """Close the store, once the append or checkpoint in flight has finished; a
        checkpoint timer that fires later does nothing."""
        with self._write:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if isinstance(self._turn, WriteTurn):
            self._turn.close()
        if self._request_nonces is not None:
            self._request_nonces.close()
        super().close()

    def _trusted_frontier(self) -> CompactTree:
        """The log's frontier as the events give it (never the stored nodes alone): from the
        last signed checkpoint's verified compact range and the events after it."""
        last = latest_signed(self.recorder, log_verifier(self.origin, self.key.public_key))
        return trusted_tree(self.recorder, last[1] if last else None, strict=False)[0]

    def _issue_checkpoint(self) -> str:
        if self._timer is not None:  # the leaves it waited for are covered now
            self._timer.cancel()
            self._timer = None
        now = self._now()
        if self._heads is None:
            last = latest_checkpoint(self.recorder)
            self._heads = heads_at(self.recorder, last[0] if last else 0)
        note = issue_checkpoint(self.recorder, self.key, self.origin, format_time(now),
                                self._heads)
        self._last_checkpoint = (parse_checkpoint(split_note(note)[0]).size, now)
        return note

    # --- appending -----------------------------------------------------------------------

    def submit(self, *signed: SignedAction) -> list[Receipt]:
        """Append signed actions atomically (all or none); return the ledger's receipts."""
        return self.submit_at_leaves(*signed)[0]

    def submit_at_leaves(self, *signed: SignedAction) -> tuple[list[Receipt], int]:
        """As `submit`, and the Merkle log's leaf index of the first event (the others
        follow it: one append's leaves are consecutive), known from the append itself."""
        if not 0 < len(signed) <= MAX_BATCH:
            raise MalformedAction(f"an append holds 1 to {MAX_BATCH} actions, not {len(signed)}")
        return self._append(list(signed))

    def submit_each(self, *signed: SignedAction) -> list[tuple[Receipt, int] | LedgerError]:
        """Append each action on its own merits, in one transaction: for each, in order, its
        receipt and leaf index, or the error that refused it (the others are appended all
        the same, judged as if the refused one had not been sent; a rule's refusal is
        recorded as `submit` records it). The server commits actions that arrive together
        this way (group commit): one write and one flush for all. If the transaction itself
        fails (a nonce or version taken by another writer meanwhile, say), each is appended
        alone, so that every action gets the answer it would have had alone."""
        if not 0 < len(signed) <= MAX_BATCH:
            raise MalformedAction(f"an append holds 1 to {MAX_BATCH} actions, not {len(signed)}")
        with self._write, self._turn:
            try:
                outcomes = self._append_retrying(list(signed), False, each=True)
            except (NonceReused, StaleVersion, StoreUnavailable):
                outcomes = None
            if outcomes is not None:
                assert self._tree is not None
                leaf = self._tree.size - sum(isinstance(o, Receipt) for o in outcomes)
                answers: list[tuple[Receipt, int] | LedgerError] = []
                for outcome in outcomes:
                    if isinstance(outcome, Receipt):
                        answers.append((outcome, leaf))
                        leaf += 1
                    else:
                        if isinstance(outcome, RuleRefused):
                            self._note_refusal(outcome)
                        answers.append(outcome)
                self._checkpoint_if_due()
                return answers
        answers = []
        for one in signed:  # outside the turn: each takes it as any append does
            try:
                receipts, leaf = self._append([one])
                answers.append((receipts[0], leaf))
            except LedgerError as error:
                answers.append(error)
        return answers

    def check_signatures(self, signed: Sequence[SignedAction]) -> None:
        """Verify the actions' signatures ahead of their append, outside the write turn, with
        each signer's key as this process last read it. The append judges every key again as
        the ledger stands then and takes a check made here only for the same public key (a
        key id names one key), so nothing is decided here: an action whose key is not usable
        now is left for the append to refuse, with its reason. A server calls this in the
        request's own thread: the Ed25519 checks (libsodium, outside the GIL) then run beside
        another request's append instead of inside the turn every append waits for; in a
        batch of 100 they were a quarter of the append."""
        now = self.clock.now()
        for one in signed:
            action = one.action
            try:
                key = usable_key(self.registered(action.actor, fresh=False), action.actor,
                                 action.key_id, now)
            except LedgerError:
                continue
            one.verifies_with(key.public_key)

    def _note_refusal(self, error: RuleRefused) -> None:
        """Record a rule's refusal (within the bound) and say where in its details."""
        record = self._record_refusal(error)
        error.details["recorded"] = record is not None
        if record is not None:  # where: the refusal stream's version and its position
            error.details["recorded_in"] = where_recorded(record, error)

    def _append(self, signed: list[SignedAction],
                starting: bool = False) -> tuple[list[Receipt], int]:
        """The receipts, and the leaf index of the first event (from the frontier the append
        kept, before anything else can append)."""
        with self._write, self._turn:
            try:
                receipts = self._append_retrying(signed, starting)
                assert self._tree is not None  # kept by the append that just committed
                first_leaf = self._tree.size - len(receipts)
            except RuleRefused as error:
                self._note_refusal(error)
                raise
            if not starting:
                self._checkpoint_if_due()
            return receipts, first_leaf

    def _append_retrying(self, signed: list[SignedAction], starting: bool,
                         each: bool = False) -> list:
        """Append; while other processes append between this one's read of the tree and its
        commit (the leaf indexes collide), again from the stored tree: each collision is
        another writer's append committed, so the store as a whole always moves on. A log
        that moves on during MOVED_TRIES tries in a row is answered as a busy store,
        nothing recorded."""
        for _ in range(MOVED_TRIES):
            try:
                return self._append_once(signed, starting, each)
            except _LogMovedOn:
                continue
        raise StoreUnavailable(f"other writers appended to {self.url.display()} during each of "
                               f"{MOVED_TRIES} tries; nothing was recorded: send it again",
                               store=self.url.display())

    def _record_refusal(self, error: RuleRefused) -> Receipt | None:
        """Record a refused action in its project's refusal stream, within the bound; return
        the record's receipt, or None if it was not recorded."""
        refused: SignedAction | None = getattr(error, "refused", None)
        if refused is None:  # not a project's action (the register's own rule): not recorded
            return None
        name = refusal_stream(refused.action.stream)
        stream = self.stream(name)
        now = self._now()
        count = stream.per_actor_day.get(day_key(refused.action.actor, now), 0) \
            if isinstance(stream, RefusalStream) else 0
        if count >= self.procedure.rules[refusal_bound(refused.action.type)].value:
            return None
        record = refusal_action(self.key, refused, error, stream.version if stream else 0,
                                format_time(now))
        try:
            receipt, = self._append_retrying([record], starting=False)
        except (NonceReused, StaleVersion):
            return None  # the same refusal is recorded already, or a race: not twice
        except StoreUnavailable:
            return None  # the store too busy to record it: the refusal still stands
        return receipt

    def _append_once(self, signed: list[SignedAction], starting: bool,
                     each: bool = False) -> list:
        """The receipts of an append (all or none); with `each`, each action's receipt or
        the LedgerError that refused it alone (a refusal leaves the batch as it was: an
        action is sealed only once every check has passed)."""
        known_tree, self._tree = self._tree, None  # kept again only if the append commits
        reread = known_tree is None  # the log may have moved on: its newest time too
        if known_tree is None and not starting:
            known_tree = self._trusted_frontier()
        # If another process appends after this read, the leaf indexes collide and the
        # append is tried again with the time read afresh: no later time precedes this one.
        now = self._now(reread)
        batch = _Batch(self, now, starting)
        try:
            refused: dict[int, LedgerError] = {}
            for i, item in enumerate(signed):
                try:
                    batch.add(item)
                except LedgerError as error:
                    if not each:
                        self._tree = known_tree  # nothing was written: the frontier stands
                        raise
                    refused[i] = error
            if len(refused) == len(signed):  # nothing to write: the frontier stands
                self._tree = known_tree
                return [refused[i] for i in range(len(signed))]
            receipts: list[Receipt] = []
            tree: list[CompactTree] = []  # the log's frontier after this append

            def within(tx: Transaction, positions: Sequence[int]) -> None:
                tx.add_nonces(sorted(batch.nonces))
                receipts.extend(sign_receipt(self.key, event.envelope, position)
                                for event, position in zip(batch.events, positions, strict=True))
                tx.add_receipts([(r.position, r.stream, r.version, r.event_hash,
                                  r.ledger_time, r.signature) for r in receipts])
                # With a known frontier there is no read: if another process appended
                # meanwhile, the leaf indexes collide and the append is tried again.
                tree.append(add_leaves(tx, positions, [r.event_hash for r in receipts],
                                       known_tree))
                batch.guard(tx)  # last: its answer also waits for the inserts before it

            self.events.put(batch.events, within=within)
            batch.keep()
            self._tree = tree[0]
            self._last_time = now
            if each:
                appended = iter(receipts)
                return [refused[i] if i in refused else next(appended)
                        for i in range(len(signed))]
        except IntegrityError:
            batch.forget()
            if any(self.recorder.nonce_used(actor, nonce) for actor, nonce in batch.nonces):
                raise NonceReused("an action of this append reuses a nonce already "
                                  "recorded; sign it again with a fresh nonce") from None
            if known_tree is not None and self.recorder.tree_size() != known_tree.size:
                raise _LogMovedOn() from None
            raise StaleVersion("another append reached one of these streams first; "
                               "read the stream's version and sign again") from None
        except PersistenceError as error:
            batch.forget()
            if lock_waited_in_vain(error):
                raise StoreUnavailable(f"{store_locked(self.url).message}; the append was not "
                                       "recorded", store=self.url.display()) from None
            raise StoreUnavailable(f"the store {self.url.display()} failed during the "
                                   f"append, which was not recorded: {error}") from None
        # any other error (a refusal, say) leaves the cache as it was: the batch changed only
        # its own copies of the streams it read (copy on write, _Batch.add)
        return receipts


def at_head(kept: Any, head: tuple[int, bytes] | None) -> bool:
    """Whether something kept of a stream (its `version` and newest hash `head`: a Stream,
    a projection's fold) is at the stored head just read (`stream_head`'s answer): the same
    version and the same newest hash."""
    return kept is not None and head is not None and kept.version == head[0] \
        and kept.head == orjson.loads(head[1])["hash"]


def where_recorded(record: Receipt, error: RuleRefused) -> dict:
    """Where a refusal was recorded: the refusal stream, its version and the position. A
    refused sealed-stage action is told the position only: the refusal stream's version
    counts the project's refusals, other bidders' among them (法 §22)."""
    refused: SignedAction | None = getattr(error, "refused", None)
    if refused is not None and refused.action.type in SEALED_STAGE_TYPES:
        return {"stream": record.stream, "position": record.position}
    return {"stream": record.stream, "version": record.version, "position": record.position}


class _LogMovedOn(Exception):
    """The frontier this process knew is behind the stored tree (another writer appended)."""


class _Batch:
    """The checks and sealing of one atomic append."""

    def __init__(self, ledger: Ledger, now: datetime, starting: bool):
        self.ledger = ledger
        self.now = now
        self.ledger_time = format_time(now)
        self.starting = starting
        self.streams: dict[str, Stream | None] = {}
        self.events: list = []
        self.nonces: set[tuple[str, str]] = set()  # (actor, nonce) of this append
        self.advanced: set[str] = set()  # streams this append has already added to
        self.guards: dict[str, int] = {}  # actor streams whose keys were relied on

    def stream(self, name: str, fresh: bool = False) -> Stream | None:
        if fresh or name not in self.streams:
            self.streams[name] = self.ledger.stream(name, fresh=fresh)
        return self.streams[name]

    def add(self, signed: SignedAction) -> None:
        action = signed.action
        self.current = signed
        check_form(signed)
        signer = self.signer(action.actor)
        key = usable_key(signer, action.actor, action.key_id, self.now)
        if not signed.verifies_with(key.public_key):
            raise BadSignature(
                f"the signature does not verify with key {action.key_id} of {action.actor!r} "
                "over the canonical action; sign JCS(action) exactly", actor=action.actor)
        if (action.actor, action.nonce) in self.nonces:
            raise NonceReused(f"nonce {action.nonce} of {action.actor!r} is used twice in this "
                              "append; sign each action with a fresh nonce", actor=action.actor)
        stream = self.stream(action.stream)
        version = stream.version if stream else 0
        # the cache may be behind: read the stored head, always for a sealed-stage action
        # (expected_version None: it goes to the stored head, whatever was cached)
        if action.expected_version != version and action.stream not in self.advanced:
            stream = self.stream(action.stream, fresh=True)
            version = stream.version if stream else 0
        if action.expected_version not in (None, version):
            raise StaleVersion(
                f"{action.stream} is at version {version}, the action expected "
                f"{action.expected_version}; read the stream and sign again",
                stream=action.stream, version=version)
        self.decide(signer, action, stream, version + 1)
        if stream is None:
            stream = stream_class(action.stream)(stream_uuid(action.stream))
            self.streams[action.stream] = stream
        elif action.stream not in self.advanced:  # the cached state is others' to read:
            stream = self.streams[action.stream] = stream.copy()  # this append's own copy
        envelope = seal(signed, ledger_time=self.ledger_time, prev=stream.head, version=version + 1)
        self.events.append(stream.record(envelope, self.now))
        self.nonces.add((action.actor, action.nonce))
        self.advanced.add(action.stream)

    def signer(self, actor: str) -> ActorRecord | None:
        if actor == LEDGER_ACTOR:
            ledger = self.stream(LEDGER_STREAM)
            if self.starting:
                return ledger_actor(TrustAnchors(public_key=self.ledger.key.public_key))
            return ledger_actor(ledger.anchors) if isinstance(ledger, LedgerStream) else None
        name = f"actor:{actor}"
        stream = self.stream(name)
        if not isinstance(stream, ActorStream):
            return None
        self.guards.setdefault(name, stream.version)
        return stream.actor

    def organisation_of(self, actor: str) -> str | None:
        """The organisation an actor registered with (for recusal, 条例 §46). It is fixed at
        registration, so the ledger remembers it: a recusal check that compares a member with
        every bidder of a large tender reads no stream again."""
        known = self.ledger._organisations.get(actor)
        if known is not None:
            return known
        record = self.signer(actor)
        if record is None:
            return None
        if f"actor:{actor}" not in self.advanced:  # stored, not only registered in this append
            self.ledger._organisations[actor] = record.organisation
        return record.organisation

    def roles_of(self, actor: str) -> frozenset[str] | None:
        """An actor's registered roles as they stand (None: not registered)."""
        record = self.signer(actor)
        return frozenset(record.roles) if record is not None else None

    def decide(self, signer: ActorRecord, action: Action, stream: Stream | None,
               version: int) -> None:
        """The rules an action must meet before it is sealed."""
        kind = EVENT_TYPES[action.type]
        if kind.stream_kind != stream_kind(action.stream):
            raise MalformedAction(f"{action.type} belongs in a {kind.stream_kind} stream, "
                                  f"not in {action.stream}", stream=action.stream)
        if kind.starts_stream is not None and kind.starts_stream != (stream is None):
            raise MalformedAction(
                f"{action.stream} must start with its opening event, and only once"
                if stream is None else f"{action.type} may only open a stream",
                stream=action.stream, event_type=action.type)
        if kind.stream_kind == "project":
            state = stream.state.copy() if isinstance(stream, ProjectStream) else ProjectState()
            step = Step(action.type, action.payload, action.actor, frozenset(signer.roles),
                        self.now, version, stream.head if stream else ZERO_HASH,
                        organisation_of=self.organisation_of, roles_of=self.roles_of)
            try:
                self.ledger.procedure.run(state, step)
            except RuleRefused as error:
                error.refused = self.current  # type: ignore[attr-defined]
                raise
        elif kind.stream_kind == "register":
            problem = role_problem(AUTHORITY[action.type], frozenset(signer.roles), action.actor,
                                   action.payload)
            if problem is not None:
                raise NotPermitted(f"{action.type}: {problem}", actor=action.actor)
            register_rules(stream.register if isinstance(stream, RegisterStream) else Register(),
                           action.type, action.payload, self.now)
        elif kind.stream_kind == "refusal":
            problem = role_problem(AUTHORITY[action.type], frozenset(signer.roles), action.actor,
                                   action.payload)
            if problem is not None:
                raise NotPermitted(f"{action.type}: {problem}", actor=action.actor)
        else:
            current = stream.actor if isinstance(stream, ActorStream) else None
            anchors = self.ledger.anchors() if not self.starting else TrustAnchors()
            check_registry_change(signer, action.type, action.stream, action.payload,
                                  current, anchors, self.now)

    def guard(self, tx: Transaction) -> None:
        """Inside the transaction: no key relied on was changed by another writer meanwhile."""
        stored = tx.stream_versions([stream_uuid(name) for name in self.guards])
        for name, seen in self.guards.items():
            stream = self.streams.get(name)
            expected = stream.version if stream is not None else seen
            if stored.get(stream_uuid(name), 0) != expected:
                raise StaleVersion(f"the keys of {name} changed during this append; sign again")

    def keep(self) -> None:
        """After the store committed: cache the streams this batch advanced."""
        for name in self.advanced:
            self.ledger._cache(self.streams[name])

    def forget(self) -> None:
        """Drop cached streams this batch read: the store refused the append because another
        writer moved one of them on, so the next read folds what it stored."""
        for name in self.streams:
            self.ledger._evict(name)


def check_form(signed: SignedAction) -> None:
    """The shape of an action: fields, formats, ledger JSON, size (typed refusals)."""
    a = signed.action
    problems = []
    if not isinstance(a.stream, str) or not STREAM.fullmatch(a.stream):
        problems.append(f"stream {a.stream!r} is not 'project:<id>', 'actor:<id>' or 'ledger'")
    if a.type not in EVENT_TYPES:
        problems.append(f"type {a.type!r} is not a known event type")
    if not isinstance(a.actor, str) or not IDENTIFIER.fullmatch(a.actor):
        problems.append(f"actor {a.actor!r} is not an identifier")
    if not isinstance(a.key_id, str) or not KEY_ID.fullmatch(a.key_id):
        problems.append("key_id is not 32 lowercase hex digits")
    if a.type in SEALED_STAGE_TYPES:
        if a.expected_version is not None:
            problems.append(f"expected_version must be null for {a.type}: a bidder's "
                            "sealed-stage action names no version (evidence-format §6)")
    elif type(a.expected_version) is not int or a.expected_version < 0:
        problems.append("expected_version is not a non-negative integer")
    if not isinstance(a.nonce, str) or not NONCE.fullmatch(a.nonce):
        problems.append("nonce is not 32 to 64 lowercase hex digits")
    if not is_time(a.signed_at):
        problems.append("signed_at is not a time such as 2025-03-01T08:30:00.000000Z")
    if not isinstance(signed.signature, bytes) or len(signed.signature) != 64:
        problems.append("signature is not 64 bytes")
    if not isinstance(a.payload, dict):
        problems.append("payload is not a JSON object")
    else:
        try:
            check_ledger_json(a.payload, "payload")
        except NotLedgerJSON as error:
            problems.append(str(error))
    if problems:
        raise MalformedAction("; ".join(problems), problems=problems)
    size = len(canonical_json(a.payload))
    if size > MAX_PAYLOAD_BYTES:
        raise OversizedPayload(f"payload is {size} bytes in canonical form; the limit is "
                               f"{MAX_PAYLOAD_BYTES}; put large documents off-ledger and "
                               "record their hash", size=size, limit=MAX_PAYLOAD_BYTES)
    wrong = EVENT_TYPES[a.type].problems(a.payload)
    if wrong:
        raise MalformedAction("; ".join(wrong), problems=wrong, event_type=a.type)
