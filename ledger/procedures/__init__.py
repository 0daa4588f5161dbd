"""The trading rules: the procedure of a project as one pure method per step (`tender.py`),
the rule table of periods and limits with their articles (`rules.py`), the trading calendar
(`calendar.py`), refusals and their bound, the verifiable expert draw and sealed bids as
commit-reveal. Pure functions of the project's state, the payload, the actor and the ledger
time; it imports only `evidence`."""
