"""The few named errors of ingest; each carries what a user needs to act on it."""

from __future__ import annotations


class IngestError(Exception):
    """One input could not be ingested; the rest of the batch goes on.

    `reason` is plain English for the CLI; `reason_zh` is the same in Chinese for the page.
    """

    def __init__(self, path: str, reason: str, reason_zh: str | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.reason_zh = reason_zh or reason


class IndexMismatch(Exception):
    """The index was built with another embedding model or schema than the one asked for."""

    def __init__(self, index_dir: str, expected: str, found: str) -> None:
        super().__init__(
            f"the index at {index_dir} was built with {found}, but {expected} was asked for; "
            f"rebuild it: remove {index_dir} and run `newsqa ingest` again with the new model"
        )
        self.expected = expected
        self.found = found


class IndexBusy(Exception):
    """Another process is writing to the index (one writer at a time)."""

    def __init__(self, index_dir: str) -> None:
        super().__init__(
            f"another ingest is writing to {index_dir}; wait for it to finish and try again"
        )
        self.index_dir = index_dir


class StoreUnavailable(Exception):
    """The vector store (a Chroma server) does not answer; nothing was changed."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"the Chroma store at {where} does not answer ({reason}); check that it is running and try again")
        self.where = where
        self.reason = reason


class RemoveError(Exception):
    """What was asked to be removed names nothing in the index, or several sources; nothing was changed."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"cannot remove {target!r}: {reason}")
        self.target = target
        self.reason = reason


class StorageFull(Exception):
    """The disk holding the index is full: the write stopped, what was stored before keeps answering."""

    def __init__(self, index_dir: str, reason: str) -> None:
        super().__init__(
            f"no space left on the disk holding {index_dir} ({reason}); free some space and run the ingest again "
            "(the articles already stored keep answering, and the next ingest repairs a half-written batch)"
        )
        self.index_dir = index_dir
        self.reason = reason
