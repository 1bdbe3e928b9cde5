"""Split cleaned documents into articles with title, date and source; ids from content."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ingest.clean import clean_text, is_heading
from ingest.headlines import split_plain
from ingest.inside import sort_lines
from ingest.tables import with_headers
from ingest.document import Document
from ingest.section import Section

_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-_.年]?(\d{2})[-_.月]?(\d{2})(?!\d)")
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日")
_MAX_TITLE = 40


@dataclass(frozen=True)
class Article:
    """One article: `text` is the cleaned body, one paragraph per line, that chunk offsets point into."""

    id: str
    title: str
    date: str | None  # YYYY-MM-DD, or None when the year is unknown
    source: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """Changes whenever anything stored about the article changes."""
        basis = "\x1f".join([self.title, self.date or "", self.source, self.text, repr(sorted(self.meta.items()))])
        return hashlib.sha1(basis.encode("utf-8")).hexdigest()


def date_from_name(name: str) -> str | None:
    """A YYYY-MM-DD or YYYYMMDD date in a file name, if it is a real calendar date."""
    for year, month, day in _ISO_DATE.findall(name):
        if 1900 <= int(year) <= 2100 and 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            return f"{year}-{month}-{day}"
    return None


def calendar_date(value: str) -> str:
    """`value` when it is a real calendar date written YYYY-MM-DD (2023-02-30 is not), for dates users type
    (filters, --date); the CLI and the page each word the error their own way.

    Raises:
        ValueError: not YYYY-MM-DD, or no such day.
    """
    from datetime import date

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"not YYYY-MM-DD: {value!r}")
    return date.fromisoformat(value).isoformat()


def normalise_date(value: str | None) -> str | None:
    """YYYY-MM-DD from the common spellings of a full date; None when there is no full date."""
    if not value:
        return None
    return date_from_name(str(value))


def _lead_date(text: str, issue_date: str | None) -> tuple[str | None, str | None]:
    """(resolved date, month-day as written) from the lead's 11月15日, using the issue's year."""
    match = _MONTH_DAY.search(text[:120])
    if not match:
        return issue_date, None
    written = match.group(0)
    if not issue_date:
        return None, written  # no year known: keep what the paper says, invent nothing
    month, day = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return issue_date, written
    return f"{issue_date[:4]}-{month:02d}-{day:02d}", written


def article_id(source_key: str, title: str, date: str | None, ordinal: int = 0) -> str:
    """Stable id from what the article is and which source holds it, never from file times or
    positions in a batch; `ordinal` tells apart articles of one source with the same title and date."""
    basis = f"{source_key}\x1f{title}\x1f{date or ''}\x1f{ordinal}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def record_article_id(source_key: str, record_id: str) -> str:
    """A JSONL record's id scoped by its archive: two archives may both number their records 1, 2, …"""
    basis = f"{source_key}\x1frecord\x1f{record_id}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def unscoped_ids(articles: list[Article]) -> dict[str, str]:
    """{article id: the id the article had before ids were scoped by source}: the raw record id, else
    the hash of file name, title, date and ordinal. Lets an index built then be re-keyed in place."""
    result: dict[str, str] = {}
    seen: dict[tuple[Any, ...], int] = {}
    for article in articles:
        key = (article.meta.get("source_key"), article.title, article.date)
        ordinal = seen.get(key, 0)
        seen[key] = ordinal + 1
        result[article.id] = article.meta.get("record_id") or article_id(article.source, article.title, article.date, ordinal)
    return result


def _sections(text: str) -> list[tuple[str | None, list[str]]]:
    """(heading, paragraphs) runs of a cleaned issue; text before any heading has heading None."""
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in filter(None, text.split("\n")):
        if is_heading(line):
            sections.append((line.lstrip("#").strip(), []))
        else:
            sections[-1][1].append(line)
    return [(title, body) for title, body in sections if body or title]


def _fallback_title(body: list[str], source: str) -> tuple[str, list[str]]:
    first = body[0] if body else ""
    if len(body) > 1 and len(first) <= _MAX_TITLE and first[-1] not in "。！？!?；;，,":
        return first, body[1:]
    return source.rsplit(".", 1)[0], body


def find_sections(text: str) -> list[Section]:
    """An issue's articles: at its `#` headings when it has any, else at headline blocks followed
    by a lead (ingest.headlines); a file with neither is one article."""
    lines = [line for line in text.split("\n") if line]
    if any(is_heading(line) for line in lines):
        return [Section(title, tuple(body), {"split": "headings"}) for title, body in _sections(text)]
    return split_plain(lines) or [Section(None, tuple(lines), {"split": "whole"})]


def issue_date_of(document: Document, given: str | None) -> tuple[str | None, str | None]:
    """(issue date, where it came from), in order of trust: the page or record itself (PDF 报头,
    数字报 meta or URL path, a JSONL date), the file name, then `--date` (`given`)."""
    own = normalise_date(document.date)
    if own:
        return own, str(document.meta.get("date_from") or ("record" if document.is_record else "page"))
    named = date_from_name(document.source)
    if named:
        return named, "file name"
    return (given, "--date") if given else (None, None)


def _record_article(document: Document, text: str, issue_date: str | None, date_from: str | None) -> Article:
    source_key = document.source_key or document.source
    body = with_headers([line for line in text.split("\n") if not is_heading(line)]) or [text]  # a table in a record too
    title = document.title or _fallback_title(body, document.source)[0]
    date, written = (issue_date, None) if document.date else _lead_date("\n".join(body), issue_date)
    meta = dict(document.meta, **({"date_text": written} if written else {}), source_key=source_key)
    if date_from:
        meta["date_from"] = date_from
    if document.record_id:
        meta["record_id"] = document.record_id
    art_id = record_article_id(source_key, document.record_id) if document.record_id else article_id(source_key, title, date)
    return Article(art_id, title, date, document.source, "\n".join(body), meta)


def split_document(document: Document, issue_date: str | None = None) -> list[Article]:
    """Split one decoded document into articles.

    A JSONL record is one article; a PDF or 数字报 page brings its articles found by layout
    (`document.sections`); a text issue is split at its `#`/`##` headings, else at its headline
    blocks and leads. Bylines and editor lines go to meta, captions are listed (ingest.inside).
    Dates: see `issue_date_of` (kept in `meta["date_from"]`), then the lead's month-day resolved
    with that year; without a year the date stays None.
    Ids are unique per source: hash(source key, title, date, ordinal), or for a record
    hash(source key, record id). `meta["source_key"]` names the source, `meta["record_id"]` keeps
    a record's own id.
    """
    source_key = document.source_key or document.source
    issue_date, date_from = issue_date_of(document, issue_date)
    if document.is_record:
        return [_record_article(document, clean_text(document.text), issue_date, date_from)]
    sections = [Section(s.title, tuple(clean_text("\n".join(s.lines)).split("\n")), s.meta) for s in document.sections] \
        or find_sections(clean_text(document.text))
    articles: list[Article] = []
    seen: dict[str, int] = {}
    for section in sections:
        lines, found = sort_lines([line for line in section.lines if line])
        lines = with_headers(lines)
        title, body = (section.title, lines) if section.title else _fallback_title(lines, document.source)
        if not body:
            continue  # a heading with no text under it is not an article
        joined = "\n".join(body)
        date, written = _lead_date(joined, issue_date)
        key = f"{title}\x1f{date}"
        ordinal = seen.get(key, 0)
        seen[key] = ordinal + 1
        meta: dict[str, Any] = {**section.meta, **found, "source_key": source_key}
        meta.update({"date_text": written} if written else {}, **({"date_from": date_from} if date_from else {}))
        articles.append(Article(article_id(source_key, title, date, ordinal), title, date, document.source, joined, meta))
    return articles
