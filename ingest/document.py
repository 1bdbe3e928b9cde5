"""What reading a file gives: decoded documents (text plus what a record says about itself) and per-line
problems. Kept apart from the readers so format modules (PDF, 数字报 HTML) and the reader dispatch in
ingest/read.py import it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.errors import IngestError
from ingest.section import Section


@dataclass(frozen=True)
class Document:
    """Decoded text of one input (a whole issue file, or one JSONL record)."""

    source: str  # file name, shown to users
    text: str
    record_id: str | None = None
    title: str | None = None
    date: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    is_record: bool = False  # a JSONL record is one article; an issue file may hold several
    source_key: str = ""  # tells this file apart from every other (`key_function`); "" means `source`
    sections: tuple[Section, ...] = ()  # articles a page layout already told apart (PDF pages, 数字报 HTML)


@dataclass(frozen=True)
class ReadResult:
    """Documents read from one file plus per-line problems that did not stop the file."""

    documents: list[Document]
    errors: list[IngestError]
