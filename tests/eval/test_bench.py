"""`newsqa bench`: probes, targets and the report (fast), and one real small run (marked slow)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from eval.bench import SizeFigures, _hit_rate, make_questions, read_stories
from eval.bench_report import markdown, targets
from tests.conftest import ROOT, SAMPLE_FILE


def _stories(count: int) -> list[dict[str, object]]:
    """News-like records made from the sample issue's paragraphs: four paragraphs a story."""
    paragraphs = [p.strip() for p in SAMPLE_FILE.read_text(encoding="utf-8-sig").split("\n") if len(p.strip()) >= 60]
    return [{"id": f"s{n}", "date": f"2023-01-{n % 28 + 1:02d}", "title": f"第{n}条：{paragraphs[n % len(paragraphs)][:14]}",
             "content": "\n".join(paragraphs[(n + k) % len(paragraphs)] for k in range(4))}
            for n in range(count)]


def _corpus(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in _stories(count)), encoding="utf-8")
    return path


def test_probes_have_unique_gold_titles_and_skip_news_briefs() -> None:
    stories = _stories(30) + [{"title": "国内联播快讯", "content": "快讯。" * 100}]
    stories += [{"title": stories[0]["title"], "content": "重复标题的另一条。" * 30}]  # its title is no longer unique
    questions = make_questions(stories, count=50)
    titles = [q.gold_titles[0] for q in questions]
    assert len(questions) == 29 and len(set(titles)) == 29
    assert stories[0]["title"] not in titles and not any("快讯" in t for t in titles)
    assert any(q.question.endswith("的内容是什么？") for q in questions)
    assert any(q.question.endswith("是怎么回事？") for q in questions)


def test_hit_rate_counts_only_questions_with_gold() -> None:
    questions = make_questions(_stories(4), count=4)
    rankings = [[q.gold_titles[0]] if n % 2 else ["别的", "更别的"] for n, q in enumerate(questions)]
    assert _hit_rate(questions, rankings) == 0.5


def test_read_stories_takes_the_first_in_file_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text('{"content": "一"}\nnot json\n{"content": ""}\n{"content": "二"}\n', encoding="utf-8")
    second.write_text('{"content": "三"}\n{"content": "四"}\n', encoding="utf-8")
    assert [s["content"] for s in read_stories([first, second], 3)] == ["一", "二", "三"]


def test_targets_are_judged_at_the_largest_size() -> None:
    small = SizeFigures(1000, 2000, 100.0, 95.0, 900.0, 30.0, {"p50": 20.0, "p95": 30.0}, {"p50": 22.0, "p95": 35.0},
                        3.0, 500.0, 0.96, 1100, 110.0, {"p50": 18.0, "p95": 25.0}, 0.95)
    big = SizeFigures(16000, 35000, 1700.0, 1500.0, 1200.0, 480.0, {"p50": 30.0, "p95": 60.0},
                      {"p50": 40.0, "p95": 250.0}, 4.0, 1600.0, 0.9, 18000, 2000.0, {"p50": 20.0, "p95": 30.0}, 0.92)
    met = {t.name: t.met for t in targets([small, big])}
    assert met["whole answer, median (ms)"] is True and met["whole answer, p95 (ms)"] is False
    assert met["answer median at 16000 / at 1000 stories"] is False  # 40 / 22 > 1.5
    assert met["ingest wall time / time inside the embedding model"] is True  # 1700 / 1500 = 1.13
    assert met["chat server peak RSS (MB)"] is False and met["our hit@5 - peer hit@5"] is False
    page = markdown([small, big], "newsqa bench --corpus x.jsonl", "bench.png")
    assert "| 16000 | 35000 |" in page and "**no**" in page and "![latency and memory" in page
    alone = SizeFigures(500, 900, 50.0, 45.0, 800.0, 10.0, {"p50": 20.0, "p95": 30.0}, {"p50": 22.0, "p95": 35.0},
                        3.0, 450.0, 1.0)
    assert {t.name: t.met for t in targets([alone])}["our retrieval median / peer query median"] is None
    assert "Plain llama-index" not in markdown([alone], "newsqa bench --no-peer", "b.png")


def test_bad_sizes_and_a_used_work_directory_are_refused(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, 3)
    result = CliRunner().invoke(main, ["bench", "--corpus", str(corpus), "--sizes", "10,abc"])
    assert result.exit_code == 1 and "--sizes must be positive whole numbers" in result.stderr
    work = tmp_path / "work"
    work.mkdir()
    (work / "left-over").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["bench", "--corpus", str(corpus), "--sizes", "2", "--work", str(work)])
    assert result.exit_code == 1 and "must be empty" in result.stderr


@pytest.mark.slow
def test_a_small_bench_run_writes_the_whole_report(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, 12)
    report = tmp_path / "out" / "bench.md"
    done = subprocess.run([sys.executable, "-m", "cli", "bench", "--corpus", str(corpus), "--sizes", "6,12",
                           "--report", str(report), "--work", str(tmp_path / "work")],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert [f["stories"] for f in figures] == [6, 12] and figures[1]["chunks"] > figures[0]["chunks"] > 0
    for f in figures:
        assert f["answer_ms"]["p50"] > 0 and f["server_rss_mb"] > 100 and f["ingest_rss_mb"] > 100
        assert 0 <= f["hit_at_5"] <= 1 and f["peer_nodes"] > 0 and 0 <= f["peer_hit_at_5"] <= 1
    assert report.with_suffix(".png").stat().st_size > 10_000
    page = report.read_text(encoding="utf-8")
    assert len(re.findall(r"^\| 1?[26] \|", page, flags=re.M)) == 4  # both sizes, ours and the peer's
    assert "bench: 12 stories (6 new)" in done.stderr and "embedding" in done.stderr  # progress was shown
