"""The CLI refuses what cannot be answered or ingested, in one line and exit 1 (issue 17):
empty questions (one bad line of a batch fails alone), impossible dates, a missing model, a file
without articles; and it never prints control characters of an article to the terminal."""

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("question", ["", "   ", "？！。", "🎉👍"])
def test_an_empty_question_is_refused(sample_index: Path, question: str) -> None:
    code, out, err = _run("ask", question, "--index", str(sample_index))
    assert code == 1 and out == ""
    assert err.startswith("newsqa: the question") and "请输入问题" in err


def test_a_too_long_question_is_refused(sample_index: Path) -> None:
    code, _, err = _run("ask", "县" * 501, "--index", str(sample_index))
    assert code == 1 and "too long" in err and "500" in err


def test_one_bad_question_fails_only_its_line(sample_index: Path, tmp_path: Path) -> None:
    lines = ['{"qid": "a", "question": "会议由谁主持"}', '{"qid": "blank", "question": "  "}',
             '{"qid": "emoji", "question": "🎉"}', '{"qid": "lone", "question": "县长\\ud800是谁"}',
             '{"qid": "b", "question": "王宏伟提出了哪几点要求"}']
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(lines), encoding="utf-8")
    code, out, _ = _run("ask", "--questions", str(questions), "--index", str(sample_index))
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["qid"] for r in results] == ["a", "blank", "emoji", "lone", "b"]
    assert [bool(r.get("error")) for r in results] == [False, True, True, True, False]
    assert "请输入问题" in results[1]["error"] and results[4]["citations"]


@pytest.mark.parametrize("flags, message", [
    (["--since", "2023-02-30"], "--since must be YYYY-MM-DD, a real"),
    (["--until", "2023-13-01"], "--until must be YYYY-MM-DD, a real"),
    (["--since", "2023-05-01", "--until", "2023-04-01"], "is after --until"),
])
def test_impossible_dates_and_ranges_are_refused(sample_index: Path, flags: list[str], message: str) -> None:
    code, _, err = _run("ask", "县长是谁", "--index", str(sample_index), *flags)
    assert code == 1 and message in err


def test_a_missing_model_is_one_line(tmp_path: Path) -> None:
    issue = tmp_path / "issue.txt"
    issue.write_text("# 县里召开会议\n\n本报讯 县里召开会议。\n", encoding="utf-8")
    code, _, err = _run("ingest", str(issue), "--index", str(tmp_path / "index"), "--model", "/nonexistent")
    assert code == 1 and err.startswith("newsqa: cannot load the embedding model") and len(err.splitlines()) == 1


def test_a_file_of_only_headings_is_an_error(tmp_path: Path) -> None:
    headings = tmp_path / "headings.md"
    headings.write_text("# 第一版\n\n# 第二版\n\n## 要闻\n", encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text("# 县里召开会议\n\n本报讯 县里召开春耕生产会议，部署春耕工作。\n", encoding="utf-8")
    code, _, err = _run("ingest", str(headings), str(good), "--index", str(tmp_path / "index"))
    assert code == 1 and f"{headings}: no article found" in err and "good.txt" not in err


def test_show_prints_no_control_characters(writable_index: Path) -> None:
    with sqlite3.connect(writable_index / "articles.sqlite") as db:  # an index made before escapes were removed
        db.execute("update articles set text = text || ?, title = title || ?", ("\x1b]0;pwned\x07\x1b[2J\x00", "\x1b[31m"))
        article_id = db.execute("select id from articles limit 1").fetchone()[0]
    code, out, _ = _run("show", article_id, "--index", str(writable_index))
    assert code == 0 and not any(ord(ch) < 32 and ch not in "\n\t" for ch in out)
    assert "\\x1b]0;pwned" in out  # shown, escaped
