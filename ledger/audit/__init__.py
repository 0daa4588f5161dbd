"""The audit side: what a supervision body runs. The verifier (`verify.py`: every event, link,
signature and receipt), the log checks (`log_check.py`: the tree rebuilt, every checkpoint and
cosignature), evidence bundles checked offline (`bundle.py`), and the verifier's recorded
runs (`runs.py`: an operational note kept in the store, not evidence). It reads through
`stores`, `evidence`, `log` and `procedures`, and never through the write path."""
