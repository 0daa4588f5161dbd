"""The ledger's aggregates, on the `eventsourcing` library: one stream per project, one per
actor (the key registry), one for the ledger itself (its key and the trusted CAs), and one
per project for the actions the rules refused.

Every stored event is a `Recorded` event: the sealed envelope of one signed action. Streams
fold envelopes into state with `when()`; the ledger's rules read that state before sealing
the next action.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Callable, ClassVar
from uuid import UUID

from eventsourcing.domain import DomainEvent, OriginatorVersionError
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from ledger.evidence.canonical import parse_ledger_json, parse_time
from ledger.evidence.envelope import ZERO_HASH, stored_bytes
from ledger.evidence.registry import (
    ActorRecord, TrustAnchors, apply_actor_event, apply_ledger_event, new_actor,
)
from ledger.procedures.calendar import local_date
from ledger.procedures.register import Register
from ledger.procedures.register import apply as apply_register_event
from ledger.procedures.tender import Procedure, ProjectState, Step


SNAPSHOT_EVERY = 100  # a stream's state is kept (in memory) at every hundredth version


class Recorded(DomainEvent):
    """A sealed event (the envelope of docs/evidence-format.md) as an eventsourcing event."""

    envelope: dict

    def mutate(self, aggregate: "Stream | None") -> "Stream":
        if aggregate is None:
            aggregate = stream_class(self.envelope["stream"])(self.originator_id)
        if self.originator_version != aggregate.version + 1:
            raise OriginatorVersionError(self.originator_version, aggregate.version + 1)
        aggregate.when(self.envelope)
        aggregate.version = self.originator_version
        aggregate.head = self.envelope["hash"]
        aggregate.modified_on = self.timestamp
        return aggregate


class Stream:
    """Base of the ledger's aggregates: version and head hash. The ledger saves the events
    it seals in submission order, so a stream keeps no pending list."""

    kind: ClassVar[str] = ""

    def __init__(self, id: UUID):  # noqa: A002 - eventsourcing's name
        self._id = id
        self.version = 0
        self.head = ZERO_HASH
        self.modified_on: datetime | None = None

    @property
    def id(self) -> UUID:
        return self._id

    def record(self, envelope: dict, ledger_time: datetime) -> Recorded:
        """Apply a freshly sealed envelope; return its event, for the ledger to save."""
        event = Recorded(
            originator_id=self.id,
            originator_version=envelope["version"],
            timestamp=ledger_time,
            envelope=envelope,
        )
        event.mutate(self)
        return event

    def when(self, event: dict) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def fold(self, envelopes: list[dict], *, linked: bool = True,
             keep: Callable[["Stream"], None] | None = None) -> bool:
        """Fold in stored envelopes that follow this state, the tight way (no event objects):
        each must be the next version and, when `linked`, name the head as its prev. False,
        with the state left partly folded, when one does not (the caller rebuilds from the
        first event; judging the links of a stored stream is the verifier's work). `keep` is
        given the state at every SNAPSHOT_EVERY-th version it passes (to copy, not to keep)."""
        for envelope in envelopes:
            if envelope["version"] != self.version + 1 or (linked and envelope["prev"] != self.head):
                return False
            self.when(envelope)
            self.version = envelope["version"]
            self.head = envelope["hash"]
            if keep is not None and self.version % SNAPSHOT_EVERY == 0:
                self.modified_on = parse_time(envelope["ledger_time"])
                keep(self)
        if envelopes:
            self.modified_on = parse_time(envelopes[-1]["ledger_time"])
        return True

    def copy(self) -> "Stream":
        """An independent copy of this state (a snapshot), to fold on without changing it."""
        return copy.deepcopy(self)


class LedgerStream(Stream):
    kind = "ledger"

    def __init__(self, id: UUID):  # noqa: A002
        super().__init__(id)
        self.anchors = TrustAnchors()

    def when(self, event: dict) -> None:
        apply_ledger_event(self.anchors, event)


class ActorStream(Stream):
    kind = "actor"

    def __init__(self, id: UUID):  # noqa: A002
        super().__init__(id)
        self.actor: ActorRecord | None = None

    def when(self, event: dict) -> None:
        if event["type"] == "actor.registered/v1":
            self.actor = new_actor(event)
        else:
            assert self.actor is not None
            apply_actor_event(self.actor, event)


class ProjectStream(Stream):
    """A trading project: its state is the fold of its events through the procedure (the
    rules were judged when each event was accepted; the fold does not judge them again)."""

    kind = "project"

    def __init__(self, id: UUID):  # noqa: A002
        super().__init__(id)
        self.state = ProjectState()

    def when(self, event: dict) -> None:
        FOLD.run(self.state, step_of(event))

    def copy(self) -> "ProjectStream":
        new = ProjectStream(self.id)
        new.version, new.head, new.modified_on = self.version, self.head, self.modified_on
        new.state = self.state.copy()  # its containers copied, their items immutable
        return new


class RegisterStream(Stream):
    """The centre's register of witness reports: its description and the numbers given
    (procedures/register.py)."""

    kind = "register"

    def __init__(self, id: UUID):  # noqa: A002
        super().__init__(id)
        self.register = Register()

    def when(self, event: dict) -> None:
        apply_register_event(self.register, event)


class RefusalStream(Stream):
    """The refused actions of one project, recorded by the ledger; counted per actor and
    China Standard Time day so that refusals stay bounded (procedures/refusals.py)."""

    kind = "refusal"

    def __init__(self, id: UUID):  # noqa: A002
        super().__init__(id)
        self.per_actor_day: dict[tuple[str, str], int] = {}

    def when(self, event: dict) -> None:
        key = (event["payload"]["action"]["actor"], local_date(parse_time(event["ledger_time"])).isoformat())
        self.per_actor_day[key] = self.per_actor_day.get(key, 0) + 1


def step_of(event: dict, roles: frozenset[str] = frozenset()) -> Step:
    """A stored project event as a step of the procedure."""
    return Step(event["type"], event["payload"], event["actor"], roles,
                parse_time(event["ledger_time"]), event["version"], event["prev"])


FOLD = Procedure(checking=False)


STREAM_CLASSES: dict[str, type[Stream]] = {
    cls.kind: cls for cls in (LedgerStream, ActorStream, ProjectStream, RefusalStream,
                              RegisterStream)
}


def stream_kind(stream: str) -> str:
    return stream.split(":", 1)[0]


def stream_class(stream: str) -> type[Stream]:
    return STREAM_CLASSES[stream_kind(stream)]


class EnvelopeMapper(Mapper):
    """Stores each event as its canonical envelope, under its stable type name as topic.

    No Python path ever reaches the store: renaming a class cannot change a hash."""

    def __init__(self) -> None:
        super().__init__(transcoder=_NoTranscoder())

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        envelope = domain_event.envelope
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=envelope["type"],
            state=stored_bytes(envelope),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Recorded:
        envelope = parse_ledger_json(stored_event.state, unique_names=False)
        return Recorded(
            originator_id=stored_event.originator_id,
            originator_version=stored_event.originator_version,
            timestamp=parse_time(envelope["ledger_time"]),
            envelope=envelope,
        )


class _NoTranscoder(Transcoder):
    """The envelope is its own encoding; eventsourcing's transcoder is not used."""

    def encode(self, obj: Any) -> bytes:  # pragma: no cover
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:  # pragma: no cover
        raise NotImplementedError
