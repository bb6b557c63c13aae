"""Database failures in one line: what went wrong and what to do, never a driver traceback.

A full disk, a read-only file or an unreachable server is an operator's problem, not a
bug: the daemon says so in one line and tries again at the next tick; a command says so
and exits.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

# (pattern in the driver's message, what it means for the operator)
KNOWN = (
    (r"disk is full|no space left|could not extend file", "the disk is full: free some space"),
    (
        r"readonly database|read-only|permission denied|unable to open database",
        "the database cannot be written: check the file's and its folder's permissions",
    ),
    (
        r"connection refused|could not connect|connection to server|timeout expired"
        r"|name or service not known|could not translate host name|no route to host",
        "the database server cannot be reached: is it running, and is the URL right?",
    ),
    (r"password authentication failed|authentication failed", "the database refused the login"),
    (r"database \S+ does not exist", "the database does not exist: create it first"),
    (r"database is locked", "the database is locked by another process"),
)
# postgresql://user:secret@host → postgresql://user:***@host (drivers echo the URL)
_PASSWORD = re.compile(r"(\w+://[^:/@\s]+:)[^@\s]+@")


def describe(exc: BaseException) -> str | None:
    """One line for a database failure (None if `exc` is not one): the cause in words and
    the driver's own first line, with any password in a URL masked."""
    if not isinstance(exc, SQLAlchemyError):
        return None
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(original).strip().splitlines() or [type(original).__name__])[0]
    first = _PASSWORD.sub(r"\1***@", first)
    lowered = first.lower()
    meaning = next((m for pattern, m in KNOWN if re.search(pattern, lowered)), None)
    if meaning is None:
        return f"database error: {first}"
    return f"{meaning} ({first})"
