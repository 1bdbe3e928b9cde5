"""The `newsqa` command as users call it: in-process through click, and once as a real process."""

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli import main
from tests.conftest import SAMPLES


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_ingest_list_show_ask(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    code, out, _ = _run("ingest", str(SAMPLES), "--index", index, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["articles_added"] == 4 and report["errors"] == []
    assert set(report) >= {"files", "articles_added", "articles_unchanged", "articles_replaced", "chunks_added", "errors"}
    code, out, _ = _run("ingest", str(SAMPLES), "--index", index, "--json")
    assert json.loads(out)["chunks_added"] == 0

    code, out, _ = _run("list", "--index", index, "--json")
    rows = json.loads(out)
    assert [r["title"] for r in rows][0] == "全县脱贫工作成效考核推进会召开"
    assert set(rows[0]) == {"id", "title", "date", "date_from", "source", "chunks"}
    assert rows[0]["date_from"] is None  # the sample carries no year: nothing to date it from

    code, out, _ = _run("show", rows[0]["id"], "--index", index)
    assert code == 0 and "考核工作,马上行动起来" in out and "吃透方案" in out

    code, out, _ = _run("ask", "王宏伟提出了哪几点要求", "--index", index, "--json")
    answer = json.loads(out)
    assert "抓住关键环节" in answer["answer"] and answer["mode"] == "extractive"

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"qid": "a", "question": "会议由谁主持"}\n{"qid": "b", "question": "县长是谁"}\nnot json\n',
                         encoding="utf-8")
    code, out, _ = _run("ask", "--questions", str(questions), "--index", index)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["qid"] for line in lines] == ["a", "b", None]
    assert "error" in lines[2] and lines[0]["citations"]


def test_clear_errors_without_tracebacks(tmp_path: Path) -> None:
    code, _, err = _run("ask", "问题", "--index", str(tmp_path / "none"))
    assert code == 1 and "no index at" in err and "Traceback" not in err
    code, _, err = _run("ask", "问题", "--since", "2020/01/01", "--index", str(tmp_path))
    assert code == 1 and "--since must be YYYY-MM-DD" in err
    code, _, err = _run("show", "nope", "--index", str(tmp_path / "none"))
    assert code == 1 and "no index" in err


def test_bad_file_exits_1_and_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "坏 文件.txt"
    bad.write_bytes(b"\x00\x01\x02" * 50)
    newsqa = Path(sys.executable).parent / "newsqa"
    done = subprocess.run([str(newsqa), "ingest", str(bad), str(SAMPLES), "--index", str(tmp_path / "ix"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["articles_added"] == 4
    assert report["errors"] == [{"path": str(bad), "error": "the file is binary, not text"}]
    assert f"error: {bad}: the file is binary" in done.stderr and "Traceback" not in done.stderr
