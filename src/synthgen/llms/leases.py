"""Request leases: two runs on one cache pay for a request once, even when they ask at the same moment.

The request cache answers a request that an earlier run paid for; a lease covers the moment before the
answer exists. Before sending, an engine takes the lease of the request's key (``leases/requests/`` in
the cache root, :mod:`synthgen.leases`). A run that finds the lease held by another live run does not
send: it waits for the answer to land in the cache and reads it. The holder releases the lease when the
answer is written, or when the request failed (the waiter then sends it itself).
"""

from __future__ import annotations

from synthgen.leases import Leases, leases_at
from synthgen.store import Store

KIND = "requests"


def request_leases(store: Store | None) -> Leases | None:
    """This process's request leases on ``store``'s root; ``None`` outside a run, or on an object store
    without conditional writes (``gs://``, ``az://``)."""
    if store is None:
        return None
    return leases_at(store.location, KIND)
