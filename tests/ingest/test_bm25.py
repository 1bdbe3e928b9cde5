"""Segmented BM25: after adds, replacements and removals its scores equal those of one bm25s index
built over the live chunks (bit for bit); a write touches only the new rows; a crash between a
segment and its manifest leaves the previous BM25 readable and the next writer completes it."""

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from ingest.articles import Article
from ingest import bm25_segment
from ingest.bm25 import MAX_DELTAS, Bm25Files, _build_in_batches
from ingest.chunk import chunk_article
from ingest.index import Index
from ingest.pipeline import IngestReport, collect_articles
from ingest.tokens import tokenize_bigram
from tests.conftest import SAMPLE_FILE

EXTRA = [
    ("县自来水公司完成管网改造", "本报讯 县自来水公司完成城东供水管网改造，新铺设供水管道三点六公里，惠及居民一万二千户。"),
    ("卫庄镇光伏电站并网发电", "本报讯 卫庄镇光伏扶贫电站并网发电，装机容量八百千瓦，每年为村集体增收六十万元。"),
    ("县图书馆新增少儿绘本", "本报讯 县图书馆新增少儿绘本两千册，每周六上午开放亲子阅读区，考核工作同步推进。"),
    ("县医院开设夜间门诊", "县人民医院开设夜间门诊，每晚开诊至九点半，脱贫攻坚期间为群众提供便利。"),
]


def _sentences() -> list[str]:
    """The sample issue's sentences: real text, about 100 rows."""
    articles, _ = collect_articles([str(SAMPLE_FILE)], None, IngestReport())
    text = "。".join(a.text for a in articles)
    return [s.strip() for s in text.replace("\n", "。").split("。") if s.strip()]


def _queries(sentences: list[str]) -> list[list[str]]:
    questions = ["王宏伟提出了哪几点要求", "脱贫攻坚成效考核", "供水管道", "要切实扛起政治责任", "会议会议会议"]
    return [tokenize_bigram(q) for q in questions + sentences[::9]]


def _assert_equals_full_rebuild(files: Bm25Files, live: dict[str, str], queries: list[list[str]]) -> None:
    """Every query's score of every live chunk equals bm25s over exactly the live chunks."""
    view, ids = files.load()
    assert sorted(ids) == sorted(live)
    reference = bm25s.BM25()
    keys = list(live)
    reference.index([live[k].split(" ") if live[k] else [""] for k in keys], show_progress=False)
    matched = 0
    for tokens in queries:
        ours = dict(zip(ids, view.get_scores(tokens)))
        theirs = reference.get_scores(tokens)
        assert np.array_equal(np.array([ours[k] for k in keys]), theirs), tokens
        matched += bool(theirs.max() > 0)
    assert matched >= len(queries) // 2  # the comparison is over real, non-zero scores
    for token in {t for q in queries for t in q}:
        assert view.doc_freq(token) == sum(token in live[k].split(" ") for k in keys)


def test_segments_score_exactly_like_one_full_index(tmp_path: Path) -> None:
    sentences = _sentences()
    rows = [(f"s{i}", " ".join(tokenize_bigram(s))) for i, s in enumerate(sentences)]
    queries = _queries(sentences)
    files = Bm25Files(tmp_path)
    files.rebuild(iter([rows[:30], rows[30:50]]), "g0", 0)  # two batches, merged
    live = dict(rows[:50])
    _assert_equals_full_rebuild(files, live, queries)
    for step, start in enumerate(range(50, len(rows), 4)):  # many small issues: deltas merge on the way
        adds = rows[start : start + 4]
        gone = {f"s{step * 3}", f"s{step * 3 + 1}"}  # removals, spread over the main segment and the deltas
        replaced = f"s{start - 2}"
        adds = adds + [(replaced, " ".join(tokenize_bigram(f"更正：{sentences[start - 2]}，考核工作")))]
        files.apply(adds, gone | {replaced}, f"g{step + 1}", 0)
        live.update(adds)
        for chunk_id in gone:
            live.pop(chunk_id, None)
        _assert_equals_full_rebuild(files, live, queries)
        assert len(files.manifest()["segments"]) <= 1 + MAX_DELTAS
    files.compact("g-last", 0)
    assert len(files.manifest()["segments"]) == 1
    _assert_equals_full_rebuild(files, live, queries)


def test_a_delta_read_from_an_iterator_in_small_batches_is_the_one_segment_of_its_rows(tmp_path: Path) -> None:
    """A big run's tokens reach BM25 a few thousand rows at a time (bm25.BUILD_ROWS): the segment
    built batch by batch is the one built from all rows at once, array for array."""
    rows = [(f"s{i}", " ".join(tokenize_bigram(s))) for i, s in enumerate(_sentences())]
    whole = bm25_segment.build((i, t.split(" ")) for i, t in rows)
    batched = _build_in_batches(iter(rows), batch_rows=7)  # about 15 batches: merges on the way
    assert batched is not None and batched.terms == whole.terms and batched.ids == whole.ids
    for name in ("indptr", "rows", "tf", "lengths"):
        assert np.array_equal(getattr(batched, name), getattr(whole, name)), name
    assert _build_in_batches(iter([])) is None
    files = Bm25Files(tmp_path)
    files.rebuild(iter([rows[:20]]), "g0", 0)
    files.apply((row for row in rows[20:]), set(), "g1", 0)  # a one-shot generator, as Index._tokens_of gives
    _assert_equals_full_rebuild(files, dict(rows), _queries(_sentences()))


def test_a_merge_placed_a_few_postings_at_a_time_equals_one_build_of_the_live_rows() -> None:
    """Merges place postings `block` at a time to bound their memory: with blocks far smaller than
    a segment, and rows dropped from both parts, the merged arrays are those of one build."""
    rows = [(f"s{i}", tokenize_bigram(s)) for i, s in enumerate(_sentences())]
    first, second = bm25_segment.build(iter(rows[:40])), bm25_segment.build(iter(rows[40:]))
    alive_first, alive_second = np.arange(40) % 3 != 0, np.arange(len(rows) - 40) % 4 != 1
    merged = bm25_segment.merge([(first, alive_first), (second, alive_second)], block=5)
    live = [row for row, alive in zip(rows, [*alive_first, *alive_second]) if alive]
    whole = bm25_segment.build(iter(live))
    assert len(first.rows) > 50 * 5 and merged.terms == whole.terms and merged.ids == whole.ids
    for name in ("indptr", "rows", "tf", "lengths"):
        assert np.array_equal(getattr(merged, name), getattr(whole, name)), name


def _items(titles_texts: list[tuple[str, str]]) -> tuple[list[tuple[Article, list, list[list[str]]]], np.ndarray]:
    items = []
    for title, text in titles_texts:
        article = Article(f"id-{title}", title, "2023-05-01", "t.txt", text, {"source_key": "t.txt"})
        chunks = chunk_article(article.id, article.text)
        items.append((article, chunks, [tokenize_bigram(f"{title} {c.text}") for c in chunks]))
    n = sum(len(chunks) for _, chunks, _ in items)
    return items, np.random.default_rng(0).random((n, 3)).astype("float32")  # store-only test: 3-d vectors


def _stored_tokens(index: Index) -> dict[str, str]:
    return {row[0]: row[1] for row in index.db.execute("select id, tokens from chunks")}


@pytest.fixture
def index(tmp_path: Path) -> Index:
    articles, _ = collect_articles([str(SAMPLE_FILE)], None, IngestReport())
    index = Index(tmp_path / "index")
    with index.writing():
        index.put_articles(*_items([(a.title, a.text) for a in articles] + EXTRA[2:]))
        index.sync_bm25()
    return index


def test_adding_an_article_writes_only_a_small_delta(index: Index) -> None:
    before = index._bm25.manifest()
    main = index.directory / "bm25" / before["segments"][0]["name"]
    main_files = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in main.iterdir()}
    with index.writing():
        items, vectors = _items(EXTRA[:1])
        index.put_articles(items, vectors)
        statements: list[str] = []
        index.db.set_trace_callback(statements.append)
        index.sync_bm25()
        index.db.set_trace_callback(None)
    after = index._bm25.manifest()
    assert after["segments"][0] == before["segments"][0]  # the main segment is kept as it was
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in main.iterdir()} == main_files
    delta = json.loads((index.directory / "bm25" / after["segments"][1]["name"] / "ids.json").read_text())
    assert delta == [c.id for c in items[0][1]]
    assert not [s for s in statements if "from chunks" in s and "where id in" not in s]  # no whole-table read
    _assert_equals_full_rebuild(index._bm25, _stored_tokens(index), _queries(_sentences()))


def test_removal_tombstones_rows_and_a_replacement_supersedes_them(index: Index) -> None:
    main = index._bm25.manifest()["segments"][0]["name"]
    victim = f"id-{EXTRA[2][0]}"
    with index.writing():
        index.delete_articles([victim])
        items, vectors = _items([(EXTRA[3][0], EXTRA[3][1] + "夜间门诊由县医院内科负责。")])  # a corrected article
        index.put_articles(items, vectors)
        index.sync_bm25()
    manifest = index._bm25.manifest()
    assert manifest["segments"][0]["name"] == main and manifest["segments"][0]["dead"]
    dead = np.load(index.directory / "bm25" / manifest["segments"][0]["dead"])
    main_ids = json.loads((index.directory / "bm25" / main / "ids.json").read_text())
    assert {main_ids[r] for r in dead} == {f"{victim}:0", f"id-{EXTRA[3][0]}:0"}
    assert not any(i.startswith(victim) for i in index.bm25()[1])
    _assert_equals_full_rebuild(index._bm25, _stored_tokens(index), _queries(_sentences()))


def test_a_crash_between_segment_and_manifest_keeps_the_old_bm25(index: Index) -> None:
    ids_before = sorted(index.bm25()[1])
    with index.writing():
        index.put_articles(*_items(EXTRA[:2]))
        # the crash: the delta's files are written, the manifest swap never happens
        files = index._bm25
        files.collect_garbage()
        orphan = files.folder / f"s{files.manifest()['next']:06d}"
        bm25_segment.save(bm25_segment.build([("x:0", ["半截"])]), orphan)
        (files.folder / "manifest.json.tmp").write_text("{half")
    reader = Index.open(index.directory)
    assert sorted(reader.bm25()[1]) == ids_before  # readers still see the last complete BM25
    with reader.writing():  # the next writer applies the log and drops the orphan
        pass
    manifest = reader._bm25.manifest()
    named = {"manifest.json"} | {e["name"] for e in manifest["segments"]} | {e["dead"] for e in manifest["segments"]}
    assert {p.name for p in files.folder.iterdir()} <= named  # the orphan's name was reused or removed
    assert "x:0" not in reader.bm25()[1]
    _assert_equals_full_rebuild(reader._bm25, _stored_tokens(reader), _queries(_sentences()))


def test_a_crash_after_the_swap_does_not_apply_the_log_twice(index: Index) -> None:
    with index.writing():
        index.put_articles(*_items(EXTRA[:2]))
        generation, seq = index._applied()
        added = [r[0] for r in index.db.execute("select chunk_id from bm25_log where op > 0")]
        # the crash: the manifest names the new delta, the log was not yet cleared
        index._bm25.apply(index._tokens_of(added), set(), generation, seq)
    reader = Index.open(index.directory)
    with reader.writing():
        pass
    assert sorted(reader.bm25()[1]) == sorted(_stored_tokens(reader))
    assert reader.db.execute("select count(*) from bm25_log").fetchone()[0] == 0


def test_compact_merges_and_the_reader_follows(index: Index) -> None:
    reader = Index.open(index.directory)
    view, _ = reader.bm25()
    with index.writing():
        for title, text in EXTRA[:2]:
            index.put_articles(*_items([(title, text)]))
            index.sync_bm25()
        index.delete_articles([f"id-{EXTRA[0][0]}"])
        index.sync_bm25()
    before = len(index._bm25.manifest()["segments"])
    assert before > 1
    assert index.compact() == {"segments_before": before, "segments_after": 1}
    assert len(index._bm25.manifest()["segments"]) == 1
    assert sorted(reader.bm25()[1]) == sorted(_stored_tokens(index))  # picked up through the manifest
    assert reader.bm25()[0] is not view
    assert sorted(p.name for p in (index.directory / "bm25").iterdir()) == ["manifest.json", index._bm25.manifest()["segments"][0]["name"]]
