"""The HTTP face of the ledger (FastAPI): the same operations as the command line, reached
with the actors' own keys. One module per idea: `app` assembles the application and owns the
ledger it serves; `problems` turns every error into RFC 9457 problem+json and bounds what a
client may send; `openapi` completes the API's reference (/openapi.json) and renders it
(/docs); `health` answers whether the server and its store are up; `actions` takes signed
actions (writes). Reads, the log's tiles, signed requests and the visibility filter live in
modules of their own beside these."""
