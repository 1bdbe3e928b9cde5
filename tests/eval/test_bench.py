"""`newsqa bench`: probes, the article budget, ChronoQA questions, busy cores, the peers, the report
(fast), and one real small run (marked slow)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from eval.bench import BenchResult, LoadRun, QuestionRun, SideRun, SizeFigures, read_stories
from eval.bench_load import busy_cores
from eval.bench_questions import BenchQuestion, Retrieved, first_articles, hit_rate, load_chronoqa_test, make_questions
from eval.bench_report import markdown, targets
from eval.peer import PeerPipeline
from eval.peer_hybrid import HybridPeer
from ingest.embed import Embedder
from tests.conftest import ROOT, SAMPLE_FILE

NEWS = [  # a few stories of their own, for the peers
    {"id": "n-bridge", "title": "汾河大桥主体完工", "date": "2023-03-01",
     "content": "3月1日，汾河大桥主体工程完工。大桥全长1.2公里，双向六车道，预计年底通车。"},
    {"id": "n-wheat", "title": "冬小麦春季管理", "date": "2023-03-02",
     "content": "各乡镇组织农技人员下田，指导农户做好冬小麦春灌和追肥，防治条锈病。"},
    {"id": "n-library", "title": "县图书馆延长开放时间", "date": "2023-03-03",
     "content": "县图书馆自本周起每天开放到晚上九点，周末增设少儿阅读专区。"},
    {"id": "n-fire", "title": "森林防火进入关键期", "date": "2023-03-04",
     "content": "清明前后是森林防火关键期，护林员加强巡查，严禁野外用火。"},
]


def _long_story() -> dict[str, str]:
    """One story long enough for the stock splitter to cut it into several nodes."""
    paragraph = ("第{n}个村汇报：县里召开光伏扶贫电站建设推进会，光伏电站的收益用于村集体经济和公益岗位。"
                 "会议要求各村管好光伏电站，按月公示发电收益，确保光伏收益惠及贫困户。")
    return {"id": "n-solar", "title": "光伏扶贫电站建设推进会", "date": "2023-03-05",
            "content": "\n".join(paragraph.format(n=n) for n in range(40))}


def _stories(count: int) -> list[dict[str, object]]:
    """News-like records made from the sample issue's paragraphs: four paragraphs a story."""
    paragraphs = [p.strip() for p in SAMPLE_FILE.read_text(encoding="utf-8-sig").split("\n") if len(p.strip()) >= 60]
    return [{"id": f"s{n}", "date": f"2023-01-{n % 28 + 1:02d}", "title": f"第{n}条：{paragraphs[n % len(paragraphs)][:14]}",
             "content": "\n".join(paragraphs[(n + k) % len(paragraphs)] for k in range(4))}
            for n in range(count)]


def _write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _chronoqa(tmp_path: Path) -> Path:
    """A ChronoQA-shaped pair of files: six questions (qid 0-5), each with its own gold passage."""
    folder = tmp_path / "chronoqa"
    folder.mkdir()
    topics = ["汾河大桥", "冬小麦", "图书馆", "森林防火", "光伏电站", "少儿阅读"]
    _write_jsonl(folder / "chronoqa.jsonl", [{"qid": n, "question": f"{t}的消息说了什么？", "golden_chunk_ids": [f"c{n}"]}
                                             for n, t in enumerate(topics)])
    _write_jsonl(folder / "chronoqa_chunk_pool.jsonl", [{"chunk_id": f"c{n}", "text": f"2023年春，{t}有了新消息，记者作了报道。"}
                                                        for n, t in enumerate(topics)])
    return folder / "chronoqa.jsonl"


def _side(hit: float, p50: float, p95: float, retrieve: float | None = None, busy: int = 0) -> SideRun:
    return SideRun(hit, {"p50": p50, "p95": p95}, 4.5, {"mean": 1.0, "peak": 1.5}, busy,
                   {"p50": retrieve, "p95": retrieve + 10} if retrieve else {})


def test_probes_have_unique_gold_titles_and_skip_news_briefs() -> None:
    stories = _stories(30) + [{"title": "国内联播快讯", "content": "快讯。" * 100}]
    stories += [{"title": stories[0]["title"], "content": "重复标题的另一条。" * 30}]  # its title is no longer unique
    questions = make_questions(stories, count=50)
    titles = [q.gold_titles[0] for q in questions]
    assert len(questions) == 29 and len(set(titles)) == 29
    assert stories[0]["title"] not in titles and not any("快讯" in t for t in titles)
    assert any(q.question.endswith("的内容是什么？") for q in questions)
    assert any(q.question.endswith("是怎么回事？") for q in questions)


def test_the_budget_is_the_first_five_distinct_articles() -> None:
    pairs = [("a", "甲"), ("a", "甲"), ("b", "乙"), ("c", "甲"), ("a", "甲"), ("d", "丁"), ("e", "戊"), ("f", "己")]
    assert [r.article_id for r in first_articles(pairs)] == ["a", "b", "c", "d", "e"]
    questions = [BenchQuestion("t", "?", gold_titles=("己",)), BenchQuestion("i", "?", gold_ids=("c",)),
                 BenchQuestion("none", "?")]
    rankings = [[Retrieved(i, t) for i, t in pairs]] * 3
    # 己 is the sixth distinct article: outside the budget; c is third; the question without gold is not scored
    assert hit_rate(questions, rankings) == 0.5


def test_chronoqa_takes_test_questions_and_only_their_passages(tmp_path: Path) -> None:
    questions, passages = load_chronoqa_test(_chronoqa(tmp_path), sample=2)
    assert len(questions) == 2 and all(int(q.qid.split("-")[1]) % 2 == 1 for q in questions)
    assert sorted(p["id"] for p in passages) == sorted(i for q in questions for i in q.gold_ids)
    everything, _ = load_chronoqa_test(tmp_path / "chronoqa" / "chronoqa.jsonl", sample=100)
    assert sorted(q.qid for q in everything) == ["chronoqa-1", "chronoqa-3", "chronoqa-5"]


def test_busy_processes_are_gone_after_the_block_even_on_error() -> None:
    with pytest.raises(RuntimeError), busy_cores(2, seconds=60) as spinners:
        pids = [s.pid for s in spinners]
        assert len(pids) == 2 and all(s.poll() is None for s in spinners)
        raise RuntimeError("the run failed")
    assert all(s.returncode is not None for s in spinners)  # killed and reaped, not left as zombies
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_the_peers_answer_within_the_budget(tmp_path: Path, embedder: Embedder) -> None:
    from llama_index.core import Settings
    from llama_index.core.llms import MockLLM

    plain = PeerPipeline(tmp_path / "peer", embedder)
    hybrid = HybridPeer(plain)
    added = plain.add([*NEWS, _long_story()])
    assert len(added.nodes) > len(NEWS) + 1  # the long story is several nodes
    hybrid.add(added.nodes)
    assert isinstance(Settings.llm, MockLLM)  # nothing can call an LLM service
    for peer in (plain, hybrid):
        found = peer.articles("光伏电站的收益怎么用？", k=3)
        ids = [r.article_id for r in found]
        assert len(ids) == 3 and len(set(ids)) == 3 and ids[0] == "n-solar"  # filled past the long story's nodes
        assert found[0].title == "光伏扶贫电站建设推进会"
    assert hybrid.articles("汾河大桥双向六车道", k=5)[0].article_id == "n-bridge"
    assert len(hybrid.articles("少儿阅读专区", k=50)) == len(NEWS) + 1  # asked for more than there is


def test_read_stories_takes_the_first_in_file_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text('{"content": "一"}\nnot json\n{"content": ""}\n{"content": "二"}\n', encoding="utf-8")
    second.write_text('{"content": "三"}\n{"content": "四"}\n', encoding="utf-8")
    assert [s["content"] for s in read_stories([first, second], 3)] == ["一", "二", "三"]


def test_targets_are_judged_at_the_largest_size_and_timings_say_the_cores() -> None:
    small = SizeFigures(1000, 2000, 100.0, 95.0, 900.0, 30.0, 3.0, 500.0, 1100, 110.0, 2.0, {"mean": 0.5, "peak": 0.9},
                        {"newsqa": _side(0.96, 22.0, 35.0, 20.0), "peer": _side(0.95, 18.0, 25.0),
                         "hybrid": _side(0.97, 25.0, 30.0)})
    big = SizeFigures(16000, 35000, 1700.0, 1500.0, 1200.0, 480.0, 4.0, 1600.0, 18000, 2000.0, 30.0, {},
                      {"newsqa": _side(0.9, 40.0, 250.0, 30.0), "peer": _side(0.92, 20.0, 30.0),
                       "hybrid": _side(0.93, 26.0, 40.0)})
    met = {t.name: t.met for t in targets([small, big])}
    assert met["whole answer, median (ms)"] is True and met["whole answer, p95 (ms)"] is False
    assert met["answer median at 16000 / at 1000 stories"] is False  # 40 / 22 > 1.5
    assert met["ingest wall time / time inside the embedding model"] is True  # 1700 / 1500 = 1.13
    assert met["chat server peak RSS (MB)"] is False and met["our hit@5 - plain peer hit@5"] is False
    load = LoadRun(2, {name: _side(0.9, 80.0, 400.0, busy=2) for name in ("newsqa", "peer", "hybrid")})
    chrono = QuestionRun(200, 310, {"newsqa": _side(0.97, 30.0, 45.0, 25.0), "hybrid": _side(0.95, 28.0, 35.0)})
    page = markdown(BenchResult([small, big], load, chrono), "newsqa bench --corpus x.jsonl", "bench.png")
    assert "| 16000 | 35000 |" in page and "**no**" in page and "![latency and memory" in page
    assert "lexical probes" in page and "ChronoQA (question-based)" in page
    assert "| llama-index hybrid (vector + BM25, RRF) | 26.0 / 40.0 | 80.0 / 400.0 | 3.08 | 10.0 |" in page
    timings = [line for line in page.splitlines() if re.match(r"\| (\d+ \| )?(newsqa|llama)", line)]
    assert len(timings) == 6 + 3 + 2 and all("idle, load" in t or "busy 2, load" in t for t in timings)
    alone = SizeFigures(500, 900, 50.0, 45.0, 800.0, 10.0, 3.0, 450.0, sides={"newsqa": _side(1.0, 22.0, 35.0, 20.0)})
    assert {t.name: t.met for t in targets([alone])}["our retrieval median / plain peer query median"] is None
    page = markdown(BenchResult([alone]), "newsqa bench --no-peer", "b.png")
    assert "peers' ingest" not in page and "Under load" not in page and "ChronoQA (" not in page


def test_bad_sizes_and_a_used_work_directory_are_refused(tmp_path: Path) -> None:
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", _stories(3))
    result = CliRunner().invoke(main, ["bench", "--corpus", str(corpus), "--sizes", "10,abc"])
    assert result.exit_code == 1 and "--sizes must be positive whole numbers" in result.stderr
    work = tmp_path / "work"
    work.mkdir()
    (work / "left-over").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["bench", "--corpus", str(corpus), "--sizes", "2", "--work", str(work)])
    assert result.exit_code == 1 and "must be empty" in result.stderr


def _spinners() -> set[int]:
    """Pids of running busy processes (eval/bench_load.py's spin loop)."""
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"while time.monotonic() < end" in cmdline.read_bytes():
                pids.add(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
def test_a_small_bench_run_writes_the_whole_report(tmp_path: Path) -> None:
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", _stories(12))
    report = tmp_path / "out" / "bench.md"
    before = _spinners()
    done = subprocess.run([sys.executable, "-m", "cli", "bench", "--corpus", str(corpus), "--sizes", "6,12",
                           "--chronoqa", str(_chronoqa(tmp_path)), "--chronoqa-sample", "2", "--load", "1",
                           "--report", str(report), "--work", str(tmp_path / "work")],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _spinners() <= before  # the busy processes were killed
    figures = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    sizes = figures["sizes"]
    assert [f["stories"] for f in sizes] == [6, 12] and sizes[1]["chunks"] > sizes[0]["chunks"] > 0
    for f in sizes:
        assert f["server_rss_mb"] > 100 and f["ingest_rss_mb"] > 100 and f["peer_nodes"] > 0
        assert set(f["sides"]) == {"newsqa", "peer", "hybrid"} and f["sides"]["newsqa"]["ms"]["p50"] > 0
        assert all(0 <= s["hit_at_5"] <= 1 and 0 < s["articles"] <= 5 and s["busy"] == 0 for s in f["sides"].values())
    assert {s["busy"] for s in figures["load"]["busy"].values()} == {1}
    chrono = figures["chronoqa"]
    assert chrono["questions"] == 2 and chrono["passages"] == 2 and set(chrono["sides"]) == {"newsqa", "peer", "hybrid"}
    assert all(side["hit_at_5"] >= 0.5 for side in chrono["sides"].values())  # gold ids resolve on every side
    assert report.with_suffix(".png").stat().st_size > 10_000
    page = report.read_text(encoding="utf-8")
    assert "Under load" in page and "ChronoQA (question-based)" in page
    assert "bench: 12 stories (6 new)" in done.stderr and "embedding" in done.stderr  # progress was shown
