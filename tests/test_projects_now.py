"""A project as it stands now, kept for reads (projections/projects_now.py): always the fold of
the stored events, on SQLite and PostgreSQL; only the newer events are folded in as the
project grows, what a read took is never changed afterwards, and a stored event changed
behind the ledger's back is folded again from the first event, not trusted from the cache."""

from __future__ import annotations

import orjson

from conftest import bid
from ledger.evidence.envelope import stream_uuid
from projections.project_state import project_events, replay
from projections.projects_now import ProjectsNow
from projections.visibility import facts_of


def folded(world, stream: str):
    events = project_events(world.ledger.recorder, stream)
    return events, replay(events, steps=False)[0], facts_of(events)


def assert_is_the_fold(now, world, stream: str) -> None:
    events, state, facts = folded(world, stream)
    assert now.version == events[-1]["version"] and now.head == events[-1]["hash"]
    assert now.intake == events[0]
    assert vars(now.state) == vars(state)
    assert now.facts == facts


def at_head(kept: ProjectsNow, stream: str):
    """The kept fold at the stored head, as a server's loop asks for it (the head read first)."""
    return kept.kept_at(stream, kept.recorder.stream_head(stream_uuid(stream)))


def test_a_project_now_is_the_fold_of_its_events_as_it_grows(world, project):
    kept = ProjectsNow(world.ledger.recorder)
    first = kept.get(project)
    assert_is_the_fold(first, world, project)
    assert kept.get(project) is first  # nothing new: the same fold, one primary-key read
    assert at_head(kept, project) is first  # what a read on the event loop takes
    assert at_head(kept, "project:NONE-SUCH") is None
    taken = (first.version, vars(first.state).copy(), orjson.dumps(first.facts, default=sorted))
    for n in range(6, 9):
        bidder = f"bidder-{n % 2 + 1}"
        world.submit(world.actors[bidder], project, "project.bid-submitted/v1", bid(bidder, n))
        assert at_head(kept, project) is None  # moved on: `get` folds the newer event
        now = kept.get(project)
        assert_is_the_fold(now, world, project)
    assert now is not first and now.version == first.version + 3
    # what the first read took is as it was
    assert (first.version, vars(first.state), orjson.dumps(first.facts, default=sorted)) == taken
    assert kept.get("project:NONE-SUCH") is None


def test_a_changed_stored_event_is_folded_again_from_the_first(world, project):
    kept = ProjectsNow(world.ledger.recorder)
    before = kept.get(project)
    raw = world.raw
    position, _, version, _, state = next(r for r in raw.rows()
                                          if orjson.loads(r[4])["stream"] == project
                                          and orjson.loads(r[4])["version"] == 10)
    event = orjson.loads(state)
    event["payload"]["bidder"] = "bidder-9"  # behind the ledger's back
    event["hash"] = "ab" * 32
    raw.execute(f"UPDATE {raw.events} SET state=? WHERE {raw.position}=?",
                (orjson.dumps(event), position))
    assert at_head(kept, project) is None  # the head is not the kept fold's
    after = kept.get(project)
    assert after is not before and after.head == "ab" * 32
    assert "bidder-9" in after.facts.bidders and "bidder-9" not in before.facts.bidders
    assert_is_the_fold(after, world, project)


def test_at_most_so_many_projects_are_kept(world):
    for n in range(3):
        world.open_project(f"project:KEEP-{n}")
    kept = ProjectsNow(world.ledger.recorder, keep=2)
    folds = [kept.get(f"project:KEEP-{n}") for n in range(3)]
    assert len(kept._kept) == 2 and kept.get("project:KEEP-0") is not folds[0]
    assert kept.get("project:KEEP-2") is folds[2]


def test_a_listed_project_is_read_again_only_when_its_head_moves(world, project):
    """The listing keeps every project's entry (its intake, facts and stage) beyond the folds
    it keeps, and folds a project again only when its stored head has moved."""
    for n in range(2):
        world.open_project(f"project:LIST-{n}")
    kept = ProjectsNow(world.ledger.recorder, keep=1)
    entries = {s: kept.listed(s) for s in (project, "project:LIST-0", "project:LIST-1")}
    assert len(kept._kept) == 1 and len(kept._listed) == 3
    for stream, entry in entries.items():
        events, state, facts = folded(world, stream)
        assert (entry.version, entry.head, entry.intake, entry.facts, entry.stage) == (
            events[-1]["version"], events[-1]["hash"], events[0], facts, state.stage)
        assert kept.listed(stream) is entry  # its head has not moved: the same entry
    world.submit(world.actors["bidder-1"], project, "project.bid-submitted/v1", bid("bidder-1", 7))
    moved = kept.listed(project)
    assert moved is not entries[project] and moved.version == entries[project].version + 1
    assert moved.facts == folded(world, project)[2]
    assert kept.listed("project:NONE-SUCH") is None
