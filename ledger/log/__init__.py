"""The Merkle log (RFC 9162, C2SP): the Merkle math (`merkle.py`), the tree stored beside the
events (`tree.py`), signed notes, checkpoints and the heads map they commit to, inclusion,
consistency and completeness proofs, and witness cosigning. It imports `evidence` (keys,
canonical JSON, the envelope) and `stores` (the transaction it writes in), nothing above."""
