"""The write side and the evidence core of Sunledger. It knows nothing of HTTP, HTML or PDF.

Its wings are packages, listed here from the base up; each imports only the wings its line
names in parentheses, besides itself and `ledger.errors` (the typed errors, which every module
may import and which import nothing):

    evidence/     canonical JSON, envelope and hashing, keys, certificates, the key registry,
                  receipts, the event catalogue, an actor's signer          (imports no wing)
    stores/       store URLs, the tables every store keeps, the SQLite and PostgreSQL
                  recorders                                                 (imports no wing)
    log/          the Merkle math, the stored tree, signed notes, checkpoints, the heads map,
                  proofs, witness cosigning                                 (evidence, stores)
    procedures/   the procedure, the rule table, the trading calendar, refusals, the expert
                  draw, sealed bids                                         (evidence)
    audit/        the verifier, the log checks, evidence bundles            (evidence, stores,
                                                                             log, procedures)

The write path stays at the top: `ledger.py` (the Ledger: judge, seal, store, receipt, log)
and `streams.py` (the streams and their stored form). It may import every wing; no wing
imports it. `tests/test_layout.py` holds these directions."""
