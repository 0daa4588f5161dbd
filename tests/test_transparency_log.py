"""The Merkle log on real stores: leaves in global order, checkpoints, proofs, tlog-proof, and
witnesses (with torchwood's published add-checkpoint requests)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger.errors import (
    BadNote, InconsistentCheckpoint, LogInconsistent, OldSizeMismatch, UnknownLog,
)
from ledger.evidence.keys import SigningKey, write_private_key
from ledger.log import merkle
from ledger.log.checkpoints import CheckpointPolicy, open_checkpoint, parse_checkpoint
from ledger.log.checkpoints import log_verifier
from ledger.log.cosigning import AddCheckpoint, Witness, parse_add_checkpoint
from ledger.log.notes import COSIGNATURE_V1, cosignature_time, parse_verifier_key, verifier_key
from ledger.log.proofs import (
    check_tlog_proof, consistency_proof, cosigned_note, inclusion_proof, log_identity, tlog_proof,
)
from ledger.ledger import Ledger
from ledger.log.tree import StoredLog

from conftest import INTAKE, bid

V = json.loads((Path(__file__).parent / "vectors" / "c2sp.json").read_text())


def new_witness(tmp_path: Path, name: str = "jgj.example.gov.cn/witness") -> Witness:
    state = tmp_path / f"{name.replace('/', '_')}.json"
    Witness.create(state, name)
    key = SigningKey.generate()
    write_private_key(state.with_name(state.name + ".key"), key)
    return Witness(state, key)


def fill(world, projects: int = 3, bids: int = 4, prefix: str = "LOG") -> None:
    for p in range(projects):
        stream = f"project:{prefix}-{p}"
        world.open_project(stream)
        for b in range(bids):
            world.submit(world.actors["bidder-1"], stream, "project.bid-submitted/v1",
                         bid("bidder-1", b))


def test_leaves_are_the_events_in_global_order(world):
    fill(world)
    log = StoredLog(world.ledger.recorder)
    rows = world.raw.rows()
    assert log.size() == len(rows)
    tree = merkle.CompactTree()
    for row in rows:
        tree.append(merkle.leaf_hash(bytes.fromhex(json.loads(row[4])["hash"])))
    assert log.root(log.size()) == tree.root()
    index, position = log.leaf_index("project:LOG-1", 6)
    assert rows[index][0] == position and json.loads(rows[index][4])["version"] == 6


def test_checkpoints_are_issued_by_policy_and_are_mutually_consistent(world):
    world.ledger.checkpoint_policy = CheckpointPolicy(every_events=5, every_seconds=3600)
    fill(world)
    note = world.ledger.checkpoint()
    origin, public_key = log_identity(world.ledger.recorder)
    verifier = log_verifier(origin, public_key)
    kept = [open_checkpoint(n, verifier) for _, n, *_ in world.ledger.recorder.checkpoints()]
    assert len(kept) >= 3 and kept[-1] == open_checkpoint(note, verifier)
    log = StoredLog(world.ledger.recorder)
    for old, new in zip(kept[1:], kept[2:]):  # the first was issued under the old policy
        assert new.size - old.size <= 5 + 1
        assert merkle.consistency_ok(old.size, new.size, old.root, new.root,
                                     log.consistency(old.size, new.size))


def test_a_changed_tree_table_stops_the_ledger_signing(world):
    fill(world, projects=1)
    world.ledger.checkpoint()
    # every node stored so far is overwritten; this process appends on from what it knows
    world.raw.execute(f"UPDATE {world.raw.table('sunledger_tree')} SET hash=?", (bytes(32),))
    world.submit(world.actors["bidder-1"], "project:LOG-0", "project.bid-submitted/v1",
                 bid("bidder-1", 99))
    with pytest.raises(LogInconsistent):
        world.ledger.checkpoint()


def test_a_forged_subtree_after_the_last_checkpoint_is_never_signed_nor_cosigned(world, tmp_path):
    """The insider rewrites the leaves appended since the last checkpoint, and every node
    above them, into a well-formed tree: consistent with the signed checkpoint, so a check
    of the stored tree alone passes. The ledger computes the root from the events and signs
    nothing; the witness is never asked; verify finds it."""
    fill(world, projects=1)
    first = world.ledger.checkpoint()
    for n in range(5):
        world.submit(world.actors["bidder-1"], "project:LOG-0", "project.bid-submitted/v1",
                     bid("bidder-1", 100 + n))
    log = StoredLog(world.ledger.recorder)
    old_size, size = parse_checkpoint(first.split("\n\n")[0] + "\n").size, log.size()
    forged = old_size + 2
    fake = merkle.leaf_hash(b"\x07" * 32)
    table = world.raw.table("sunledger_tree")
    key = merkle.node_key((0, forged))
    world.raw.execute(f"UPDATE {table} SET hash=? WHERE node=?", (fake, key))
    level, index = 0, forged  # every complete node above it, recomputed from its children
    while True:
        level, index = level + 1, index >> 1
        parent = merkle.node_key((level, index))
        children = world.raw.execute(
            f"SELECT node, hash FROM {table} WHERE node IN (?, ?)",
            (merkle.node_key((level - 1, 2 * index)), merkle.node_key((level - 1, 2 * index + 1))))
        if len(children) < 2 or not world.raw.execute(
                f"SELECT 1 FROM {table} WHERE node=?", (parent,)):
            break
        by_key = {k: bytes(h) for k, h in children}
        world.raw.execute(f"UPDATE {table} SET hash=? WHERE node=?", (merkle.node_hash(
            by_key[merkle.node_key((level - 1, 2 * index))],
            by_key[merkle.node_key((level - 1, 2 * index + 1))]), parent))
    # the forgery is consistent with the signed checkpoint: the old check would have passed
    old = open_checkpoint(first, log_verifier(*log_identity(world.ledger.recorder)))
    assert merkle.consistency_ok(old.size, size, old.root, log.root(size),
                                 log.consistency(old.size, size))
    kept = world.raw.count("sunledger_checkpoints")
    with pytest.raises(LogInconsistent, match="not the tree the events give"):
        world.ledger.checkpoint()
    assert world.raw.count("sunledger_checkpoints") == kept
    from ledger.audit.verify import StoreSource, verify

    altered = [f for f in verify(StoreSource(world.raw.url), workers=1).findings]
    assert altered and {f.kind for f in altered} == {"tree_row_altered"}
    assert any(f"(level 0, index {forged})" in f.detail for f in altered)


@pytest.mark.parametrize("table, where, kind, signs", [
    ("sunledger_tree", "node = (SELECT MAX(node) FROM {table})", "tree_row_altered", False),
    ("sunledger_leaves", "leaf_index = 3", "leaf_row_altered", True),
])
def test_a_deleted_derived_row_stops_no_append_and_the_log_is_rebuilt_from_the_events(
        world, tmp_path, table, where, kind, signs):
    """Plain SQL deletes a row of the Merkle log's derived tables. The ledger still opens and
    appends (its frontier comes from the events); it signs no checkpoint over a tree whose
    root is not the events' (a missing leaf row leaves the root as it is); verify names the
    row; after rebuild_log verify finds the store intact."""
    from ledger.audit.verify import StoreSource, verify
    from ledger.ledger import Ledger
    from ledger.log.tree import rebuild_log

    fill(world, projects=2)
    world.ledger.checkpoint()
    name = world.raw.table(table)
    world.raw.execute(f"DELETE FROM {name} WHERE {where.format(table=name)}")
    world.ledger.close()
    reopened = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    world.ledger = reopened
    world.submit(world.actors["bidder-1"], "project:LOG-0", "project.bid-submitted/v1",
                 bid("bidder-1", 77))
    if signs:
        reopened.checkpoint()
    else:
        with pytest.raises(LogInconsistent, match="rebuild-log"):
            reopened.checkpoint()
    report = verify(StoreSource(world.raw.url), workers=1)
    assert kind in {f.kind for f in report.findings}
    assert all("rebuild-log" in f.detail for f in report.findings if f.kind == kind)
    assert rebuild_log(reopened.recorder) == world.raw.count("sunledger_events")
    reopened.checkpoint()
    assert verify(StoreSource(world.raw.url), workers=1).intact


def test_an_unreadable_event_row_stops_no_append_but_every_checkpoint(world, tmp_path):
    """An insider overwrites the newest event row with garbage: the ledger opens and appends
    (the unreadable event takes the leaf that matches nothing), signs no checkpoint over it,
    and verify reports the row."""
    from ledger.audit.verify import StoreSource, verify
    from ledger.evidence.envelope import stream_uuid
    from ledger.ledger import Ledger

    fill(world, projects=1)
    world.ledger.checkpoint()
    world.submit(world.actors["bidder-1"], "project:LOG-0", "project.bid-submitted/v1",
                 bid("bidder-1", 55))
    version = world.ledger.stream_version("project:LOG-0")
    world.raw.set_state(stream_uuid("project:LOG-0"), version, b"garbage")
    world.ledger.close()
    reopened = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    world.ledger = reopened
    world.open_project("project:LOG-AFTER")  # appends go on
    kept = world.raw.count("sunledger_checkpoints")
    with pytest.raises(LogInconsistent, match="cannot be read"):
        reopened.checkpoint()
    assert world.raw.count("sunledger_checkpoints") == kept
    report = verify(StoreSource(world.raw.url), workers=1)
    assert "undecodable_row" in {f.kind for f in report.findings}


def test_inclusion_proof_and_tlog_proof_verify(world):
    fill(world)
    world.ledger.checkpoint()
    recorder = world.ledger.recorder
    proof = inclusion_proof(recorder, stream="project:LOG-2", version=5)
    note = cosigned_note(recorder, proof["tree_size"])
    checkpoint = parse_checkpoint(note.split("\n\n")[0] + "\n")
    leaf = base64.b64decode(proof["leaf_hash"])
    assert leaf == merkle.leaf_hash(bytes.fromhex(proof["event_hash"]))
    assert merkle.inclusion_ok(proof["leaf_index"], proof["tree_size"], leaf,
                               [base64.b64decode(h) for h in proof["hashes"]], checkpoint.root)
    text = tlog_proof(recorder, proof)
    verifier = log_verifier(*log_identity(recorder))
    assert check_tlog_proof(text, proof["event_hash"], verifier).size == proof["tree_size"]
    other = inclusion_proof(recorder, stream="project:LOG-2", version=6)["event_hash"]
    with pytest.raises(BadNote):
        check_tlog_proof(text, other, verifier)


def test_tlog_proof_text_matches_transparency_dev_formats():
    import hashlib

    from ledger.log.proofs import TlogProof, parse_tlog_proof

    vector = V["tlog_proof"]
    hashes = [hashlib.sha256(x.encode()).digest() for x in vector["hashes_of"]]
    text = TlogProof(vector["index"], hashes, vector["checkpoint"]).text()
    assert text == vector["text"]
    assert parse_tlog_proof(text) == TlogProof(5, hashes, "test checkpoint\n")


def test_witness_cosigns_torchwoods_requests_and_refuses_the_race(tmp_path):
    """torchwood's witness test: 0→1, then 1→5; a racing 1→3 is a conflict."""
    requests = V["witness_requests"]
    witness = new_witness(tmp_path)
    witness.add_log(requests["log_vkey"])
    first, three, five = (parse_add_checkpoint(r) for r in requests["requests"])
    vkey = parse_verifier_key(witness.verifier_key)
    line = witness.add_checkpoint(first, 1_700_000_000)
    text = first.note.split("\n\n")[0] + "\n"
    assert cosignature_time(text, line, vkey) == 1_700_000_000
    witness.add_checkpoint(five, 1_700_000_001)
    with pytest.raises(OldSizeMismatch) as refused:
        witness.add_checkpoint(three, 1_700_000_002)
    assert refused.value.details["known_size"] == 5
    state = json.loads(witness.state_path.read_text())
    log = next(iter(state["logs"].values()))
    assert log["size"] == 5 and base64.b64decode(log["root"]).hex().startswith("42bb57ad")


def test_witness_refuses_an_inconsistent_checkpoint_and_an_unknown_log(world, tmp_path):
    fill(world, projects=1)
    note = world.ledger.checkpoint()
    origin, public_key = log_identity(world.ledger.recorder)
    witness = new_witness(tmp_path)
    with pytest.raises(UnknownLog):
        witness.add_checkpoint(AddCheckpoint(0, [], note), 1)
    witness.add_log(verifier_key(origin, public_key))
    witness.add_checkpoint(AddCheckpoint(0, [], note), 1)
    size = parse_checkpoint(note.split("\n\n")[0] + "\n").size
    # the log key signs a fork: the same size with another root
    from ledger.log.checkpoints import Checkpoint
    from ledger.log.notes import sign_note

    fork = sign_note(Checkpoint(origin, size + 1, bytes(32)).text(), origin, world.ledger.key)
    proof = StoredLog(world.ledger.recorder).consistency(size - 1, size)
    with pytest.raises(InconsistentCheckpoint, match="forked or was rewritten"):
        witness.add_checkpoint(AddCheckpoint(size, proof, fork), 2)
    smaller = sign_note(Checkpoint(origin, size - 1, bytes(32)).text(), origin, world.ledger.key)
    with pytest.raises(InconsistentCheckpoint, match="never shrinks"):
        witness.add_checkpoint(AddCheckpoint(size, [], smaller), 3)
    # and it still cosigns the honest continuation
    fill(world, projects=1, bids=2, prefix="MORE")
    honest = world.ledger.checkpoint()
    new_size = parse_checkpoint(honest.split("\n\n")[0] + "\n").size
    proof = [base64.b64decode(h) for h in
             consistency_proof(world.ledger.recorder, size, new_size)["hashes"]]
    line = witness.add_checkpoint(AddCheckpoint(size, proof, honest), 4)
    assert line.startswith("\u2014 jgj.example.gov.cn/witness ")


def test_witness_vkey_has_type_0x04():
    key = SigningKey(bytes.fromhex(V["cosignature"]["seed"]))
    assert verifier_key("example.org/witness", key.public_key, COSIGNATURE_V1) == \
        "example.org/witness+cacf2e50+BGbguFjkYqYJ5m/nE3DIFtiEb/ED1UmaIqf+w3/bxCSn"


# --- the verifier and the log ----------------------------------------------------------------

def _verify(world):
    from ledger.audit.verify import StoreSource, verify

    return verify(StoreSource(world.raw.url), workers=1)


def _kinds(report) -> set[tuple[str, str]]:
    return {(f.kind, f.stream) for f in report.findings}


def test_an_intact_log_verifies_with_its_checkpoints_and_cosignatures(world, tmp_path):
    fill(world)
    note = world.ledger.checkpoint()
    origin, public_key = log_identity(world.ledger.recorder)
    witness = new_witness(tmp_path)
    witness.add_log(verifier_key(origin, public_key))
    line = witness.add_checkpoint(AddCheckpoint(0, [], note), 1_700_000_000)
    size = parse_checkpoint(note.split("\n\n")[0] + "\n").size
    world.ledger.recorder.add_cosignature(size, witness.verifier_key, line)
    report = _verify(world)
    assert report.intact, report.findings
    assert report.latest_checkpoint == size and report.cosigned_by == [witness.verifier_key]
    assert base64.b64decode(report.tree_root) == StoredLog(world.ledger.recorder).root(size)


def _delete_event(world, stream: str, version: int) -> None:
    """Delete an event with its receipt and leaf: a thorough forger leaves no trace rows."""
    from ledger.evidence.envelope import stream_uuid

    position = world.raw.row_of(stream_uuid(stream), version)[0]
    world.raw.delete(stream_uuid(stream), version)
    world.raw.execute(f"DELETE FROM {world.raw.table('sunledger_receipts')} WHERE position=?",
                      (position,))
    world.raw.execute(f"DELETE FROM {world.raw.table('sunledger_leaves')} WHERE position=?",
                      (position,))


def test_events_cut_from_the_end_of_the_log_after_a_checkpoint_are_detected(world):
    fill(world)
    world.ledger.checkpoint()
    _delete_event(world, "project:LOG-2", 8)  # the newest event of the log
    report = _verify(world)
    assert _kinds(report) == {("log_truncated", "log")}
    assert "1 of the events it covered are gone" in report.findings[0].detail


def test_the_newest_event_of_a_stream_removed_mid_log_after_a_checkpoint_is_detected(world):
    fill(world)
    world.ledger.checkpoint()
    _delete_event(world, "project:LOG-0", 8)  # LOG-0's last event; later events follow it
    report = _verify(world)
    # the chain alone would be blind; the log sees it, and so does the store's own tree,
    # whose leaves after the removed event no longer name the events the tree gives
    tables = {("leaf_row_altered", "log"), ("tree_row_altered", "log")}
    assert _kinds(report) == {("log_truncated", "log")} | tables
    fill(world, prefix="MORE")  # the log grows past the checkpoint's size again
    report = _verify(world)
    # and the heads statement, judged even after the root mismatch, no longer holds: it
    # committed to the removed event as LOG-0's newest
    assert _kinds(report) == {("checkpoint_mismatch", "log"), ("heads_mismatch", "log")} | tables
    assert sum(1 for f in report.findings if f.kind == "leaf_row_altered") == 1  # summarised


def test_a_checkpoint_with_a_wrong_root_or_signature_is_detected(world):
    fill(world)
    note = world.ledger.checkpoint()
    size = parse_checkpoint(note.split("\n\n")[0] + "\n").size
    table = world.raw.table("sunledger_checkpoints")
    text, signatures = note.split("\n\n")
    root = text.split("\n")[2]
    wrong_root = base64.b64encode(bytes(32)).decode()
    world.raw.execute(f"UPDATE {table} SET note=? WHERE tree_size=?",
                      (note.replace(root, wrong_root), size))
    assert ("checkpoint_invalid", "log") in _kinds(_verify(world))  # the signature fails
    # re-signed by the ledger key over a wrong root: the signature holds, the root does not
    from ledger.log.checkpoints import Checkpoint
    from ledger.log.notes import sign_note

    origin, _ = log_identity(world.ledger.recorder)
    forged = sign_note(Checkpoint(origin, size, bytes(32)).text(), origin, world.ledger.key)
    world.raw.execute(f"UPDATE {table} SET note=? WHERE tree_size=?", (forged, size))
    # the heads statement kept beside it was signed for the true root: not for this one
    assert _kinds(_verify(world)) == {("checkpoint_mismatch", "log"), ("heads_invalid", "log")}


def test_a_forged_cosignature_is_detected(world, tmp_path):
    fill(world, projects=1)
    note = world.ledger.checkpoint()
    size = parse_checkpoint(note.split("\n\n")[0] + "\n").size
    witness = new_witness(tmp_path)
    origin, public_key = log_identity(world.ledger.recorder)
    witness.add_log(verifier_key(origin, public_key))
    line = witness.add_checkpoint(AddCheckpoint(0, [], note), 1_700_000_000)
    world.ledger.recorder.add_cosignature(size, witness.verifier_key, line[:-10] + "AAAAAAAAA\n")
    assert _kinds(_verify(world)) == {("cosignature_invalid", "log")}


# --- per-project completeness ------------------------------------------------------------------

def test_a_completeness_proof_holds_and_fails_when_one_event_is_left_out(world):
    from ledger.log.proofs import check_completeness, completeness_proof

    fill(world)
    world.ledger.checkpoint()
    recorder = world.ledger.recorder
    log = log_verifier(*log_identity(recorder))
    proof = completeness_proof(recorder, "project:LOG-1")
    assert [json.loads(e)["version"] for e in proof["events"]] == list(range(1, 9))
    assert len(check_completeness(proof, log)) == 8
    for left_out in range(8):
        partial = {**proof, "events": proof["events"][:left_out] + proof["events"][left_out + 1:]}
        with pytest.raises(BadNote):
            check_completeness(partial, log)
    # events after the checkpoint are not part of it
    world.submit(world.actors["bidder-1"], "project:LOG-1", "project.bid-submitted/v1",
                 bid("bidder-1", 50))
    assert len(check_completeness(completeness_proof(recorder, "project:LOG-1"), log)) == 8


def test_a_heads_statement_in_another_spelling_is_invalid(world):
    """§17.4: the stored statement must be the JCS of what it states; the same members with
    white space, or a count that is not a count, are heads_invalid."""
    fill(world, projects=1)
    note = world.ledger.checkpoint()
    size = parse_checkpoint(note.split("\n\n")[0] + "\n").size
    table = world.raw.table("sunledger_checkpoints")
    (heads,), = world.raw.execute(f"SELECT heads FROM {table} WHERE tree_size=?", (size,))
    spelt = json.dumps(json.loads(heads), indent=1)
    world.raw.execute(f"UPDATE {table} SET heads=? WHERE tree_size=?", (spelt, size))
    assert _kinds(_verify(world)) == {("heads_invalid", "log")}
    world.raw.execute(f"UPDATE {table} SET heads=? WHERE tree_size=?",
                      (heads.replace('"streams":', '"streams":1,"streams":', 1), size))
    assert _kinds(_verify(world)) == {("heads_invalid", "log")}
    world.raw.execute(f"UPDATE {table} SET heads=? WHERE tree_size=?", (heads, size))
    assert _verify(world).intact


def test_a_leaf_is_the_stored_hash_even_when_the_content_no_longer_gives_it(world):
    """§14.4: a payload changed behind the ledger's back, its stored hash left alone: the row
    is content_altered, and its leaf (the hash the ledger receipted) still matches the
    checkpoint, so the finding says what changed, not that the log did."""
    fill(world, projects=1)
    world.ledger.checkpoint()
    position, state = world.raw.execute(
        f"SELECT {world.raw.position}, state FROM {world.raw.events} "
        f"WHERE topic='project.bid-submitted/v1' ORDER BY {world.raw.position} LIMIT 1")[0]
    altered = bytes(state).replace(b'"bid_hash":"0', b'"bid_hash":"f', 1)
    assert altered != bytes(state)
    world.raw.execute(f"UPDATE {world.raw.events} SET state=? WHERE {world.raw.position}=?",
                      (altered, position))
    report = _verify(world)
    assert {f.kind for f in report.findings if f.position == position} >= {"content_altered"}
    assert not {f.kind for f in report.findings} & {"checkpoint_mismatch", "heads_mismatch"}


def test_a_heads_statement_for_a_stale_head_is_detected(world):
    """The ledger key signs heads that hide a stream's newest event: the verifier finds it."""
    from ledger.log.checkpoints import heads_statement, sign_heads
    from ledger.log.heads import HeadsMap

    fill(world, projects=1)
    note = world.ledger.checkpoint()
    checkpoint = parse_checkpoint(note.split("\n\n")[0] + "\n")
    stale = HeadsMap()
    for row in world.raw.rows():
        event = json.loads(row[4])
        if not (event["stream"] == "project:LOG-0" and event["version"] == 8):
            stale.set(event["stream"], bytes.fromhex(event["hash"]))
    signed = sign_heads(heads_statement(checkpoint, stale.root(), len(stale)), world.ledger.key)
    world.raw.execute(f"UPDATE {world.raw.table('sunledger_checkpoints')} SET heads=? "
                      "WHERE tree_size=?", (signed, checkpoint.size))
    assert _kinds(_verify(world)) == {("heads_mismatch", "log")}


def test_a_store_from_before_the_log_gets_its_leaves_when_opened(world, tmp_path):
    """A store written by the evidence core alone (no log tables): opening it integrates
    its events in global order, and it verifies with its first checkpoint."""
    from ledger.ledger import Ledger

    fill(world, projects=1)
    for table in ("sunledger_leaves", "sunledger_tree", "sunledger_checkpoints",
                  "sunledger_cosignatures"):
        world.raw.execute(f"DROP TABLE {world.raw.table(table)}")
    assert _verify(world).intact  # a reader copes with the missing tables
    world.ledger.close()
    reopened = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    assert StoredLog(reopened.recorder).size() == len(world.raw.rows())
    reopened.checkpoint()
    report = _verify(world)
    assert report.intact and report.latest_checkpoint == len(world.raw.rows())
    reopened.close()


def test_leaves_made_from_a_read_another_opener_overtook_are_not_added(world, tmp_path):
    """Two processes open one store at once: each reads the log's size, then makes leaves for
    the events without one (a store from before the log) or finds none to make (a new store
    whose first event came with its leaf). One that read before the other's leaves (or first
    append) were committed must add nothing: the log stays as the other made it, and no
    unique-key error reaches the opener (it once did: 'UNIQUE constraint failed:
    sunledger_leaves.leaf_index', seen when eight processes opened one new SQLite store)."""
    from ledger.ledger import Ledger
    from ledger.log.tree import integrate_earlier_events

    fill(world, projects=1)
    for table in ("sunledger_leaves", "sunledger_tree", "sunledger_checkpoints",
                  "sunledger_cosignatures"):
        world.raw.execute(f"DROP TABLE {world.raw.table(table)}")
    world.ledger.close()
    first = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    size = StoredLog(first.recorder).size()
    assert size == len(world.raw.rows())  # the first opener integrated every event
    # what the second opener made from its earlier read (the log empty), added only now
    rows = first.recorder.select_rows(0, first.recorder.max_position())
    assert first.recorder.add_to_tree([(i, row[0]) for i, row in enumerate(rows)], []) is False
    assert integrate_earlier_events(first.recorder) == 0  # and, reading now, it finds none
    assert StoredLog(first.recorder).size() == size
    first.checkpoint()
    assert _verify(world).intact
    first.close()


def test_new_leaves_get_a_checkpoint_within_every_seconds_without_another_append(world):
    """A quiet period after an append: the ledger's timer signs the checkpoint anyway."""
    import time

    world.ledger.checkpoint_policy = CheckpointPolicy(every_events=10**6, every_seconds=0.3)
    world.ledger.checkpoint()
    # the ledger clock stands still: at the append no checkpoint is due yet
    world.ledger.submit(world.sign(world.actors["tenderee-1"], "project:QUIET-1",
                                   "project.intake/v1", INTAKE))
    size = StoredLog(world.ledger.recorder).size()
    assert world.ledger.recorder.checkpoints()[-1][0] == size - 1
    deadline = time.monotonic() + 10
    while world.ledger.recorder.checkpoints()[-1][0] != size:
        assert time.monotonic() < deadline, "no checkpoint came"
        time.sleep(0.05)


def test_a_checkpoint_timer_that_fires_as_the_ledger_closes_does_nothing(world, tmp_path):
    """The timer's thread may be past its cancellation when the ledger closes (a server
    shutting down): it then signs nothing and touches no closed store (it once raised
    ConnectionPoolClosedError in the timer's thread)."""
    other = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key",
                        checkpoints=CheckpointPolicy(every_events=10**6, every_seconds=3600))
    other.checkpoint()
    other.submit(world.sign(world.actors["tenderee-1"], "project:QUIET-2", "project.intake/v1",
                            INTAKE))
    assert other._timer is not None  # the new leaf waits for its checkpoint
    sizes = [size for size, *_ in world.ledger.recorder.checkpoints()]
    other.close()
    assert other._timer is None
    other._on_timer()  # as the timer's thread would, once past cancel()
    assert [size for size, *_ in world.ledger.recorder.checkpoints()] == sizes


# --- receipts under a checkpoint (evidence-format §14.3 step 6) --------------------------------

def _forge_receipt_signature(world, position: int) -> None:
    world.raw.execute(f"UPDATE {world.raw.receipts} SET signature=? WHERE position=?",
                      (base64.b64encode(bytes(63) + b"\x01").decode(), position))


def _positions(world) -> list[int]:
    return [p for (p,) in world.raw.execute(
        f"SELECT position FROM {world.raw.receipts} ORDER BY position")]


def test_a_receipt_a_checkpoint_covers_is_vouched_for_by_it(world):
    """Its contents are compared, its signature is not verified (the checkpoint signed by
    the same key commits to the event in its place); on request every one is."""
    from ledger.audit.verify import StoreSource, verify

    fill(world, projects=1)
    world.ledger.checkpoint()
    covered = _positions(world)[5]
    _forge_receipt_signature(world, covered)
    report = _verify(world)
    assert report.intact and report.covered_by == report.events == report.receipts_covered
    every = verify(StoreSource(world.raw.url), workers=1, all_receipts=True)
    assert {(f.kind, f.position) for f in every.findings} == {("bad_receipt", covered)}
    assert every.covered_by is None and every.receipts_covered == 0


def test_a_receipt_beyond_the_last_checkpoint_is_verified(world):
    fill(world, projects=1)
    world.ledger.checkpoint()
    world.submit(world.actors["bidder-1"], "project:LOG-0", "project.bid-submitted/v1",
                 bid("bidder-1", 77))
    beyond = _positions(world)[-1]
    _forge_receipt_signature(world, beyond)
    assert {(f.kind, f.position) for f in _verify(world).findings} == {("bad_receipt", beyond)}


def test_a_checkpoint_that_does_not_hold_vouches_for_nothing(world):
    """An event under the checkpoint changed and its receipt made to name the new hash with a
    signature the ledger never made: the root no longer holds, so every receipt is verified
    again and the forged one is found beside the mismatch."""
    from ledger.evidence.envelope import event_hash

    fill(world, projects=1)
    world.ledger.checkpoint()
    position, state = world.raw.execute(
        f"SELECT {world.raw.position}, state FROM {world.raw.events} "
        f"WHERE topic='project.bid-submitted/v1' ORDER BY {world.raw.position} LIMIT 1")[0]
    event = json.loads(bytes(state))
    event["payload"]["bid_hash"] = "f" * 64
    event["hash"] = event_hash({k: v for k, v in event.items() if k != "hash"})
    stored = json.dumps(event, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    world.raw.execute(f"UPDATE {world.raw.events} SET state=? WHERE {world.raw.position}=?",
                      (stored.encode(), position))
    world.raw.execute(f"UPDATE {world.raw.receipts} SET event_hash=? WHERE position=?",
                      (event["hash"], position))
    _forge_receipt_signature(world, position)
    report = _verify(world)
    found = {(f.kind, f.position) for f in report.findings}
    assert ("bad_receipt", position) in found and ("checkpoint_mismatch", None) in found
    assert report.covered_by is None


def test_leaf_rows_that_lie_about_the_covered_position_vouch_for_nothing(world):
    """The position of the checkpoint's last leaf comes from the store's leaf table; edited,
    it is found out after the run, which then verifies every receipt."""
    fill(world, projects=1)
    world.ledger.checkpoint()
    positions = _positions(world)
    _forge_receipt_signature(world, positions[-1])
    world.raw.execute(f"UPDATE {world.raw.table('sunledger_leaves')} SET position=? "
                      "WHERE leaf_index=?", (positions[-1] + 1000, len(positions) - 1))
    found = {(f.kind, f.position) for f in _verify(world).findings}
    assert ("bad_receipt", positions[-1]) in found
    assert "leaf_row_altered" in {kind for kind, _ in found}


def _heads_from_every_receipt(recorder, size: int):
    from ledger.log.checkpoints import HeadsFold

    fold = HeadsFold()
    fold.advance(recorder, StoredLog(recorder).position_of_leaf(size - 1))
    return fold


@pytest.fixture
def heads_map_every_checkpoint(monkeypatch):
    """Keep the heads map at every checkpoint (a store keeps one each 100,000 leaves)."""
    from ledger.log import checkpoints

    monkeypatch.setattr(checkpoints, "HEADS_MAP_EVERY", 1)


def test_the_heads_map_resumes_from_the_latest_checkpoint_as_folding_every_receipt_gives(
        world, heads_map_every_checkpoint):
    """A checkpoint keeps its heads map; a later checkpoint or proof resumes from it (and the
    receipts after it) instead of folding every receipt from the first: the same map."""
    from ledger.log.checkpoints import heads_at

    fill(world, projects=2)
    world.ledger.checkpoint()
    recorder = world.ledger.recorder
    size, position, encoded = recorder.heads_map(10**9)
    assert size == StoredLog(recorder).size() and b" project:LOG-1\n" in encoded
    fill(world, projects=1, prefix="LATER")  # events after the kept map
    world.ledger.checkpoint()
    for at in (size, StoredLog(recorder).size()):
        resumed, folded = heads_at(recorder, at), _heads_from_every_receipt(recorder, at)
        assert resumed.latest == folded.latest and resumed.heads.root() == folded.heads.root()
    assert recorder.heads_map(10**9)[0] == StoredLog(recorder).size()  # only the latest kept
    assert recorder.heads_map(size - 1) is None  # an older size folds from the first receipt
    assert _verify(world).intact


@pytest.mark.parametrize("change", ["a head", "a stream", "an earlier position",
                                    "a later position", "undecodable"])
def test_a_changed_heads_map_row_is_not_used_and_the_next_checkpoint_is_right(
        world, change, tmp_path, heads_map_every_checkpoint):
    """Plain SQL changes the kept heads map: its root is no longer the signed heads root, so
    the ledger folds the receipts from the first; what it signs next verifies."""
    from ledger.ledger import Ledger
    from ledger.log.checkpoints import heads_at

    fill(world, projects=2)
    world.ledger.checkpoint()
    table = world.raw.table("sunledger_heads_map")
    (size, position, encoded), = world.raw.execute(f"SELECT tree_size, position, heads FROM {table}")
    lines = bytes(encoded).decode().splitlines()
    if change == "a head":
        lines[0] = "0" * 64 + lines[0][64:]
    elif change == "a stream":
        lines[0] = lines[0][:65] + "project:FORGED"
    elif change == "an earlier position":
        position -= 3
    elif change == "a later position":  # would skip the receipts after the checkpoint
        position += 3
    new = ("\n".join(lines) + "\n").encode() if change != "undecodable" else b"\xff\xfe"
    world.raw.execute(f"UPDATE {table} SET heads=?, position=?", (new, position))
    recorder = world.ledger.recorder
    folded = _heads_from_every_receipt(recorder, size)
    assert heads_at(recorder, size).heads.root() == folded.heads.root()
    world.ledger.close()  # a new process: its first checkpoint starts from the kept map
    world.ledger = Ledger.open(world.raw.url, clock=world.clock, key_path=tmp_path / "ledger.key")
    fill(world, projects=1, prefix="NEXT")
    world.ledger.checkpoint()
    assert _verify(world).intact


def test_a_heads_map_is_kept_only_every_so_many_leaves(world, monkeypatch):
    """Writing the map costs a line per stream: it is kept again only when the kept one is
    HEADS_MAP_EVERY leaves behind, so a checkpoint's cost does not grow with the streams."""
    from ledger.log import checkpoints

    monkeypatch.setattr(checkpoints, "HEADS_MAP_EVERY", 30)
    world.ledger._heads = None  # this process starts from what the store keeps
    fill(world, projects=3)  # over 30 leaves with the registrations
    first = world.ledger.recorder.heads_map(10**9)
    world.ledger.checkpoint()
    kept = world.ledger.recorder.heads_map(10**9)
    assert kept is not None and kept[0] >= 30 and kept != first
    fill(world, projects=1, prefix="SOON")  # fewer than 30 more leaves
    world.ledger.checkpoint()
    assert world.ledger.recorder.heads_map(10**9) == kept
    fill(world, projects=3, prefix="LATER")
    world.ledger.checkpoint()
    assert world.ledger.recorder.heads_map(10**9)[0] >= kept[0] + 30


def test_a_verification_while_the_ledger_appends_finds_nothing(world):
    """A centre verifies its live store: events appended after the run read its rows (their
    leaves included) are not extra leaf rows; a forged leaf row beyond the events still is."""
    from ledger.audit.verify import StoreSource, verify

    fill(world, projects=2)
    world.ledger.checkpoint()

    class AppendedMeanwhile(StoreSource):
        def jobs(self, after: int = 0):
            yield from super().jobs(after)
            fill(world, projects=1, prefix="MEANWHILE")  # after the last rows were read

    report = verify(AppendedMeanwhile(world.raw.url), workers=1)
    assert report.intact, report.findings
    assert verify(StoreSource(world.raw.url), workers=1).intact
    leaves = world.raw.table("sunledger_leaves")
    (last,), = world.raw.execute(f"SELECT MAX(leaf_index) FROM {leaves}")
    world.raw.execute(f"INSERT INTO {leaves} VALUES (?, ?)", (last + 1, 10**9))  # no such event
    assert ("leaf_row_altered", "log") in _kinds(verify(StoreSource(world.raw.url), workers=1))


def test_a_heads_map_made_at_once_from_remembered_nodes_gives_the_roots_of_one_built_head_by_head():
    import random

    from ledger.log.heads import HeadsMap

    rng = random.Random(5)
    streams = [f"project:P{i}" for i in range(3000)]
    heads = {s: rng.randbytes(32) for s in streams}
    built = HeadsMap()
    for s, h in heads.items():
        built.set(s, h)
    nodes = built.subtrees()
    assert nodes and all(0 <= p < 1024 for p in nodes)
    resumed, plain = HeadsMap.of(heads.items(), nodes), HeadsMap.of(heads.items())
    assert resumed.root() == plain.root() == built.root()
    for _ in range(5):  # heads move and new streams come, as after a remembered checkpoint
        moved = rng.sample(streams, 40) + [f"project:N{rng.randrange(10**6)}" for _ in range(7)]
        for s in moved:
            head = rng.randbytes(32)
            for m in (built, resumed, plain):
                m.set(s, head)
        assert resumed.root() == plain.root() == built.root()
        assert resumed.proof(moved[0]) == built.proof(moved[0])
