"""The reads a server makes on its event loop (api/http/store_reads.py): on SQLite the
recorder's own, on PostgreSQL over asyncio connections of their own. They answer exactly as
the recorder does, and a PostgreSQL server that does not answer is a store-unavailable
refusal, not a hang or a trace."""

from __future__ import annotations

import asyncio

import pytest

from api.http.store_reads import loop_reads
from conftest import POSTGRES, NO_POSTGRES
from ledger.errors import StoreUnavailable
from ledger.evidence.envelope import actor_stream, stream_uuid
from ledger.stores.postgres import PostgresLoopReads


def test_loop_reads_answer_as_the_recorder(world, project):
    ledger = world.ledger
    ledger.checkpoint()
    recorder = ledger.recorder
    signer = stream_uuid(actor_stream("bidder-1"))

    async def read() -> tuple:
        reads = loop_reads(ledger)
        await reads.open()
        try:
            return (await reads.stream_head(stream_uuid(project)),
                    await reads.stream_head(stream_uuid("project:NONE-SUCH")),
                    await reads.remember_request_nonce_and_head("bidder-1:k", "n" * 16, 2**31,
                                                                signer),
                    await reads.remember_request_nonce_and_head("bidder-1:k", "n" * 16, 2**31,
                                                                signer),
                    await reads.entry_hashes(0, 8),
                    await reads.entry_hashes(recorder.tree_size() - 2, 8),
                    await reads.tile_hashes(0, 8))
        finally:
            await reads.close()

    head, none, first, again, entries, short, tile = asyncio.run(read())
    assert head == recorder.stream_head(stream_uuid(project)) and head[0] == 10
    assert none is None
    assert first == (True, recorder.stream_head(signer))
    assert again == (False, recorder.stream_head(signer))  # the nonce is kept: a replay
    assert not recorder.remember_request_nonce("bidder-1:k", "n" * 16, 2**31)
    assert entries == recorder.entry_hashes(0, 8) and entries[0] == 8
    assert len(entries[1]) == 8 * 64
    assert short[0] == 2  # the tree holds two of those leaves
    assert tile == recorder.tile_hashes(0, 8) and tile[0] == 8
    assert tile[1] == b"".join(recorder.tree_nodes(list(range(8)))[k] for k in range(8))


def test_a_postgres_server_that_does_not_answer_is_refused_as_unavailable():
    if not POSTGRES:
        pytest.skip(NO_POSTGRES)
    reads = PostgresLoopReads("127.0.0.1", 1, "test", "postgres", "", "public", wait=0.5)

    async def read():
        await reads.open()
        try:
            await reads.stream_head(stream_uuid("project:X"))
        finally:
            await reads.close()

    with pytest.raises(StoreUnavailable, match="does not answer"):
        asyncio.run(read())
