"""The clients and faces of the ledger, on top of everything else: the command line (`cli/`, a
package of command groups), the demo (`demo.py`) and the load generator (`simulate.py`), both of
which drive the real procedure through `Ledger.submit` as any client would. The HTTP API joins
them here as the second face of the same operations; neither face holds logic the other lacks."""
