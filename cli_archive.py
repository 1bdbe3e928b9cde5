"""`newsqa ingest|list|show|remove|compact`: what the archive holds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cli_common import (
    Bars, check_date, chroma_option, fail, index_option, json_option, open_index, print_json, printable,
    setting_option,
)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@index_option
@click.option("--date", help="issue date YYYY-MM-DD for files that carry none")
@setting_option("model")
@chroma_option
@json_option
def ingest(paths: tuple[str, ...], index_dir: Path, date: str | None, model: str | None, chroma_url: str | None,
           as_json: bool) -> None:
    """Ingest issue files, directories (recursive) or globs into the index.

    Example: newsqa ingest samples/ ../shared/data/xwlb/xwlb_2023.jsonl
    """
    from ingest.embed import EmbeddingModelError
    from ingest.errors import IndexBusy, IndexMismatch, StorageFull, StoreUnavailable
    from ingest.pipeline import IngestConfig, ingest_paths

    check_date(date, "--date")
    config = IngestConfig(model=model, date=date, chroma_url=chroma_url)
    if hasattr(os, "nice"):
        os.nice(10)  # embedding already yields (ingest/embed.py); the index writes yield to a chat server too
    try:
        with Bars() as bars:
            report = ingest_paths(list(paths), index_dir, config, progress=bars.bar("embedding", "chunk"))
    except (IndexBusy, IndexMismatch, StoreUnavailable, StorageFull, EmbeddingModelError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json(report.as_json())
    else:
        click.echo(
            f"{report.files} files: {report.articles_added} articles added, {report.articles_replaced} replaced, "
            f"{report.articles_removed} removed, "
            f"{report.articles_unchanged} unchanged; {report.chunks_added} chunks in {report.seconds:.1f}s "
            f"({report.embed_seconds:.1f}s embedding with {report.runtime})"
        )
        # per file, so a wrong split (a whole issue read as one article) shows at once
        for found in report.file_articles:
            click.echo(f"  {found['path']}: {found['articles']} articles (split by {found['split']})")
    # a file that was read but held no article (only headings) is a problem too
    empty = [f["path"] for f in report.file_articles if not f["articles"]]
    for error in report.errors:
        click.echo(f"error: {error['path']}: {error['error']}", err=True)
    for path in empty:
        click.echo(f"error: {path}: no article found (only headings, or no text under any heading)", err=True)
    if report.errors or empty:
        sys.exit(1)


@click.command(name="list")
@index_option
@json_option
def list_articles(index_dir: Path, as_json: bool) -> None:
    """List the indexed articles: id, title, date, source, chunks.

    Example: newsqa list --json
    """
    rows = [
        {"id": s.article.id, "title": s.article.title, "date": s.article.date or s.article.meta.get("date_text"),
         "date_from": s.article.meta.get("date_from"), "source": s.article.source, "chunks": s.chunks}
        for s in open_index(index_dir).list_articles()
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        dated = f"date from {row['date_from']}, " if row["date_from"] and row["date"] else ""
        click.echo(f"{row['id']}  {row['date'] or '-':10}  {row['chunks']:3d}  {row['title']}  ({dated}{row['source']})")


@click.command()
@click.argument("article_id")
@index_option
@json_option
def show(article_id: str, index_dir: Path, as_json: bool) -> None:
    """Show one article's cleaned full text and metadata.

    Example: newsqa show 0e703f5fd16e0502
    """
    article = open_index(index_dir).get_article(article_id)
    if article is None:
        fail(f"no article with id {article_id!r}; `newsqa list` shows the ids")
    if as_json:
        print_json({"id": article.id, "title": article.title, "date": article.date, "source": article.source,
                     "meta": article.meta, "text": article.text})
        return
    head = f"{article.title}\n{article.date or article.meta.get('date_text') or ''}  {article.source}\n"
    click.echo(printable(head))
    click.echo(printable(article.text))


@click.command()
@index_option
@chroma_option
@json_option
def compact(index_dir: Path, chroma_url: str | None, as_json: bool) -> None:
    """Merge BM25's small per-ingest segments into one (ingest does this on its own as they grow).

    Example: newsqa compact
    """
    from ingest.errors import IndexBusy

    try:
        figures = open_index(index_dir, chroma_url).compact()
    except IndexBusy as exc:
        fail(str(exc))
    if as_json:
        print_json(figures)
    else:
        click.echo(f"BM25: {figures['segments_before']} segments merged into {figures['segments_after']}")


@click.command(name="remove")
@click.argument("target")
@index_option
@chroma_option
@json_option
def remove_command(target: str, index_dir: Path, chroma_url: str | None, as_json: bool) -> None:
    """Remove a source (its path, or a file name that names one source) or one article (its id).

    Ingesting a file again already replaces its articles; this is for a file deleted or retracted.

    Example: newsqa remove issues/2020-11-17.txt
    """
    from ingest.errors import IndexBusy, RemoveError, StoreUnavailable
    from ingest.remove import remove

    try:
        removed = remove(target, index_dir, chroma_url)
    except (FileNotFoundError, RemoveError, IndexBusy, StoreUnavailable) as exc:
        fail(str(exc))
    rows = [{"id": a.id, "title": a.title, "source": a.source, "source_key": a.meta.get("source_key")} for a in removed]
    if as_json:
        print_json({"removed": rows})
        return
    for row in rows:
        click.echo(f"removed {row['id']}  {row['title']}  ({row['source_key'] or row['source']})")
