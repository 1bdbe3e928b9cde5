"""`newsqa ask|chat|serve`: answers in the terminal and the chat page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli_common import (
    check_range, checked_question, chroma_option, encodable, fail, index_option, json_option, llm_options,
    load_engine, print_json, printable, quick_exit, answerer_options, setting_option,
)


def _print_answer(answer: Any) -> None:
    if answer.condensed_question:  # the chat page shows it too: the reader sees how a follow-up was read
        click.echo(f"（理解为：{printable(answer.condensed_question)}）")
    click.echo(answer.answer)
    if answer.notice:
        click.echo(f"（{answer.notice}）")
    if answer.no_answer and answer.citations:  # not evidence: the closest passages, labelled as such
        click.echo("可能相关的段落（未必回答问题）：")
    for c in answer.citations:
        click.echo(f"  [{c.n}] 《{c.title}》 {c.date or ''} {c.source}: {c.quote}")


@click.command()
@click.argument("question", required=False)
@index_option
@click.option("-k", "--k", "k", type=int, default=None, help="fused chunks to answer from (default 8)")
@click.option("--since", help="only articles dated on or after YYYY-MM-DD")
@click.option("--until", help="only articles dated on or before YYYY-MM-DD")
@click.option("--source", help="only articles from this file or archive name")
@click.option("--questions", "questions_file", type=click.Path(exists=True, path_type=Path),
              help="answer every {qid, question} line of a JSONL file; one JSON result per line")
@chroma_option
@llm_options
@answerer_options
@json_option
def ask(question: str | None, index_dir: Path, k: int | None, since: str | None, until: str | None,
        source: str | None, questions_file: Path | None, chroma_url: str | None, as_json: bool, llm: Any,
        scorer: Path | None, reranker: Path | None) -> None:
    """Answer a question with numbered citations.

    Example: newsqa ask "王宏伟提出了哪几点要求"
    """
    from ingest.errors import StoreUnavailable
    from rag.followup import HISTORY_NEEDED, needs_history

    if question is None and not questions_file:
        fail("give a question, or --questions FILE.jsonl")
    since, until = check_range(since, until)
    if not questions_file:
        question = checked_question(question or "")
        if needs_history(question):  # 「第二点是什么」 alone: ask back rather than answer from any list
            fail(f"{HISTORY_NEEDED}（在 newsqa chat 里可以接着上一个问题问）", code=2)
    # imported after the checks, so a refusal does not wait for llama-index
    from rag.retrieve import SearchFilter

    filters = SearchFilter(since, until, source)
    engine = load_engine(index_dir, chroma_url, llm, scorer, reranker)
    quick_exit()
    if questions_file:
        _ask_batch(engine, questions_file, filters, k)
        return
    try:
        answer = engine.ask(question or "", [], filters, k)
    except StoreUnavailable as exc:
        fail(str(exc))
    if as_json:
        print_json(answer.as_json())
    else:
        _print_answer(answer)


def _ask_batch(engine: Any, questions_file: Path, filters: Any, k: int | None) -> None:
    """One JSON line per {qid, question, history?} line; a bad line gets an "error" and the batch goes on."""
    from ingest.errors import StoreUnavailable
    from rag.followup import HISTORY_NEEDED, needs_history
    from rag.question_limits import QuestionRejected, check_question

    for line_no, line in enumerate(questions_file.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            asked = check_question(item["question"])
            if not item.get("history") and needs_history(asked):
                result = {"error": f"{questions_file}:{line_no}: {HISTORY_NEEDED}"}
            else:
                result = engine.ask(asked, item.get("history") or [], filters, k).as_json()
        except QuestionRejected as exc:
            result = {"error": f"{questions_file}:{line_no}: {exc}"}
        except StoreUnavailable as exc:
            result = {"error": str(exc)}
        except (json.JSONDecodeError, KeyError, TypeError):
            result = {"error": f"{questions_file}:{line_no}: not a JSON object with a 'question'"}
            item = {}
        qid = item.get("qid") if isinstance(item, dict) else None
        # ensure_ascii: a lone surrogate in a qid or history cannot be written as UTF-8
        click.echo(json.dumps({"qid": qid, **result}, ensure_ascii=not encodable(qid, result)))


@click.command()
@index_option
@chroma_option
@llm_options
@answerer_options
def chat(index_dir: Path, chroma_url: str | None, llm: Any, scorer: Path | None, reranker: Path | None) -> None:
    """Chat in the terminal; follow-up questions use the earlier ones. Empty line or Ctrl-D ends.

    Example: newsqa chat
    """
    from ingest.errors import StoreUnavailable
    from rag.followup import HISTORY_NEEDED, needs_history
    from rag.question_limits import QuestionRejected, check_question

    engine = load_engine(index_dir, chroma_url, llm, scorer, reranker)
    quick_exit()
    history: list[str] = []
    while True:
        try:
            question = input("问> ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            question = check_question(question)
        except QuestionRejected as exc:
            click.echo(f"newsqa: {exc}", err=True)
            continue
        if not history and needs_history(question):
            click.echo(HISTORY_NEEDED)
            continue
        try:
            answer = engine.ask(question, history)
        except StoreUnavailable as exc:
            click.echo(f"newsqa: {exc}", err=True)
            continue
        _print_answer(answer)
        history.append(question)


@click.command()
@index_option
@setting_option("host")
@setting_option("port", type=int)
@setting_option("auth-user")
@setting_option("auth-password")
@chroma_option
@llm_options
@answerer_options
def serve(index_dir: Path, host: str, port: int, auth_user: str | None, auth_password: str | None,
          chroma_url: str | None, llm: Any, scorer: Path | None, reranker: Path | None) -> None:
    """Start the chat page (binds 127.0.0.1 unless told otherwise; login when a user and password are set).

    Example: newsqa serve --port 7860
    """
    import app

    if bool(auth_user) != bool(auth_password):
        fail("--auth-user and --auth-password go together")
    app.serve(index_dir=index_dir, host=host, port=port, chroma_url=chroma_url, llm=llm,
              auth_user=auth_user, auth_password=auth_password, scorer=scorer, reranker=reranker)
