"""Ids the gateway makes: time-ordered, so the request log's indexes grow at one end.

A random 128-bit id lands on a random page of every B-tree that holds it, and each
batch of inserts then dirties (and writes) a page per row. Leading with the time keeps
the inserts of a batch together. The 80 bits after the time are random (from a
per-process generator seeded by the OS), which keeps ids unguessable enough and
satisfies W3C Trace Context's rule that a trace id's right-most 7 bytes be random.
"""

from __future__ import annotations

import random
import time

_bits = random.Random().getrandbits


def time_ordered_id() -> str:
    """32 lowercase hex digits: milliseconds since the epoch (48 bits), then 80 random bits."""
    return f"{int(time.time() * 1000):012x}{_bits(80):020x}"
