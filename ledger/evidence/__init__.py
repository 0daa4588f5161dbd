"""The evidence: what an event is and how anyone checks it without our code. Canonical JSON
(RFC 8785 on ledger JSON), the envelope and its hashing, Ed25519 keys and X.509 certificates,
the key registry rebuilt from its events, the ledger's receipts, the event catalogue (every
type with its members), the signer an actor's client signs its actions with, and the bounded
reader of files from outside (`untrusted.py`: bundles, dossiers, proofs, reports), and the
durable writer of the files a crash must not leave half-written (`durable.py`). It imports
no other wing of `ledger/`: everything else builds on it."""
