"""The stores: a URL names a SQLite file or a PostgreSQL database (`url.py`), every store keeps
the same tables (`tables.py`: events, receipts, nonces, Merkle leaves and nodes, checkpoints,
cosignatures), and an eventsourcing recorder per engine writes them in the events'
transaction (`sqlite.py`, `postgres.py`). It imports no other wing of `ledger/`."""
