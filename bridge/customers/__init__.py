"""Customers: one person record across every channel (issue 13), the pure part.

* :mod:`bridge.customers.fields`: the contact fields a person has, read from a channel's record.
* :mod:`bridge.customers.merge`: field-level merge (most recent change wins, empty never wins).
* :mod:`bridge.customers.matching`: which person a channel's record belongs to (email, then phone).
* :mod:`bridge.customers.decide`: one chunk of records read against what the store remembers.
* :mod:`bridge.customers.writes`: the updates and creates that bring every channel to the person.

Like the engine, nothing here does I/O, reads a clock or imports ``adapters/``: the sync's
customers stage asks the store for what it remembers, calls these functions with plain data and
hands what they decide back to the store (:mod:`bridge.store.customers`) and the outbox.
"""
