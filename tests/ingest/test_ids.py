"""Article ids are unique per source: same-named files and archives numbering their records alike
never overwrite each other, and a source read again replaces its own articles as a set.

Every test here fails on the ids of before (file name + title + date, raw JSONL ids): the two
`01.txt` files' 「本县简讯」 and the two archives' records 1, 2 collide there."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.articles import Article, article_id, split_document
from ingest.chunk import chunk_article
from ingest.embed import Embedder
from ingest.index import Index
from ingest.pipeline import IngestConfig, IngestReport, ingest_paths
from ingest.read import read_file
from ingest.tokens import DEFAULT_TOKENIZER, get_tokenizer
from rag.engine import Engine

BRIEF_A = "本报讯 县自来水公司完成城东供水管网改造，新铺设供水管道三点六公里。"
SOLAR = "本报讯 卫庄镇光伏扶贫电站并网发电，装机容量八百千瓦，每年为村集体增收六十万元。"
BRIEF_B = "本报讯 县图书馆新增少儿绘本两千册，每周六上午开放亲子阅读区。"
ISSUE_A = f"# 本县简讯\n\n{BRIEF_A}\n\n# 卫庄镇建成光扶电站\n\n{SOLAR}\n"  # 光扶: a typo, corrected later
ISSUE_B = f"# 本县简讯\n\n{BRIEF_B}\n"
COUNTY = [{"id": 1, "title": "县医院开设夜间门诊", "content": "县人民医院开设夜间门诊，每晚开诊至九点半。"},
          {"id": 2, "title": "县里举办农民运动会", "content": "县农民运动会在体育场开幕，十二个乡镇的六百名农民参赛。"}]
CITY = [{"id": 1, "title": "运城开通机场快线", "content": "运城市开通机场快线公交，全程票价十五元。"},
        {"id": 2, "title": "运城盐湖迎来火烈鸟", "content": "运城盐湖湿地迎来三十多只火烈鸟越冬栖息。"}]
# question -> words only its own article holds
FACTS = {
    "县自来水公司新铺设了多长的供水管道？": "三点六公里",
    "卫庄镇光伏扶贫电站的装机容量是多少？": "八百千瓦",
    "县图书馆新增了多少册少儿绘本？": "两千册",
    "县人民医院的夜间门诊每晚开到几点？": "九点半",
    "县农民运动会有多少名农民参赛？": "六百名农民",
    "运城机场快线公交的票价是多少？": "十五元",
    "运城盐湖迎来了多少只火烈鸟？": "三十多只火烈鸟",
}


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    """Two issues that both have an 01.txt with 「本县简讯」 (no year known), two archives numbering 1, 2."""
    paths = {"a": tmp_path / "issue_2020-11-17" / "01.txt", "b": tmp_path / "issue_2020-11-24" / "01.txt"}
    for key, text in (("a", ISSUE_A), ("b", ISSUE_B)):
        paths[key].parent.mkdir()
        paths[key].write_text(text, encoding="utf-8")
    paths["county"] = _jsonl(tmp_path / "county.jsonl", COUNTY)
    paths["city"] = _jsonl(tmp_path / "city.jsonl", CITY)
    return paths


def _ingest(paths: list[Path], directory: Path, embedder: Embedder, **config: str) -> IngestReport:
    return ingest_paths([str(p) for p in paths], directory, IngestConfig(**config), embedder=embedder)


def _counts(report: IngestReport) -> tuple[int, int, int, int]:
    # getattr: so that the ingest of before fails these tests on its counts, not on a missing field
    return report.articles_added, report.articles_replaced, report.articles_unchanged, getattr(report, "articles_removed", 0)


def _stored(directory: Path) -> list[tuple[str, str]]:
    """(title, text) of every stored article; checks that Chroma and BM25 hold exactly the store's chunks."""
    index = Index.open(directory)
    chunk_ids = sorted(row[0] for row in index.db.execute("select id from chunks"))
    assert sorted(index.collection.get(include=[])["ids"]) == chunk_ids
    assert sorted(index.bm25()[1]) == chunk_ids
    stored = [(s.article.title, s.article.text) for s in index.list_articles()]
    index.close()
    return stored


def _holding(directory: Path, words: str) -> list[str]:
    return [title for title, text in _stored(directory) if words in text]


def _cited(engine: Engine, question: str) -> str:
    """Everything the answer shows: its text and every cited passage."""
    answer = engine.ask(question)
    return answer.answer + "".join(c.text for c in answer.citations)


@pytest.fixture
def ingested(inputs: dict[str, Path], tmp_path: Path, embedder: Embedder) -> Path:
    """The four inputs ingested in one run: seven articles, none lost."""
    directory = tmp_path / "index"
    report = _ingest(list(inputs.values()), directory, embedder)
    assert not report.errors and _counts(report) == (7, 0, 0, 0)
    return directory


def test_one_run_keeps_every_article_of_same_named_sources(ingested: Path, embedder: Embedder) -> None:
    stored = _stored(ingested)
    assert len(stored) == 7 and [title for title, _ in stored].count("本县简讯") == 2
    engine = Engine(ingested, embedder=embedder)
    for question, words in FACTS.items():
        assert len(_holding(ingested, words)) == 1, words
        assert words in _cited(engine, question), question


def test_a_second_run_with_same_named_sources_adds_and_replaces_nothing(
    inputs: dict[str, Path], tmp_path: Path, embedder: Embedder
) -> None:
    directory = tmp_path / "index"
    assert _counts(_ingest([inputs["a"], inputs["county"]], directory, embedder)) == (4, 0, 0, 0)
    second = _ingest([inputs["b"], inputs["city"]], directory, embedder)
    assert not second.errors and _counts(second) == (3, 0, 0, 0)
    index = Index.open(directory)
    records = sorted((s.article.source, s.article.meta.get("record_id")) for s in index.list_articles())
    assert records.count(("city.jsonl", "1")) == records.count(("county.jsonl", "1")) == 1
    assert len(index.record_ids()["1"]) == 2  # how an eval set's gold_id "1" finds both archives' record 1
    assert len({s.article.meta["source_key"] for s in index.list_articles()}) == 4 == index.counts()["sources"]
    engine = Engine(directory, embedder=embedder)
    for question, words in FACTS.items():
        assert words in _cited(engine, question), question


def test_the_same_ingest_again_adds_nothing(ingested: Path, inputs: dict[str, Path], embedder: Embedder) -> None:
    again = _ingest(list(inputs.values()), ingested, embedder)
    assert _counts(again) == (0, 0, 7, 0) and again.chunks_added == 0 and not again.errors


def test_a_corrected_title_replaces_the_old_article(ingested: Path, inputs: dict[str, Path], embedder: Embedder) -> None:
    inputs["a"].write_text(ISSUE_A.replace("光扶电站", "光伏电站"), encoding="utf-8")
    report = _ingest([inputs["a"]], ingested, embedder)
    assert _counts(report) == (1, 0, 1, 1)
    titles = [title for title, _ in _stored(ingested)]
    assert "卫庄镇建成光伏电站" in titles and "卫庄镇建成光扶电站" not in titles
    assert titles.count("本县简讯") == 2 and len(titles) == 7  # the other 01.txt is untouched


def test_articles_gone_from_a_source_are_removed_and_only_from_it(
    ingested: Path, inputs: dict[str, Path], embedder: Embedder
) -> None:
    inputs["a"].write_text(f"# 本县简讯\n\n{BRIEF_A}\n", encoding="utf-8")
    _jsonl(inputs["county"], COUNTY[:1])
    report = _ingest([inputs["a"], inputs["county"]], ingested, embedder)
    assert _counts(report) == (0, 0, 2, 2)
    assert _holding(ingested, "八百千瓦") == [] and _holding(ingested, "六百名农民") == []
    assert _holding(ingested, "三十多只火烈鸟") == ["运城盐湖迎来火烈鸟"]  # city.jsonl's record 2 stays
    assert len(_stored(ingested)) == 5


def test_a_source_that_fails_to_read_keeps_its_articles(ingested: Path, inputs: dict[str, Path], embedder: Embedder) -> None:
    inputs["a"].write_bytes(b"")
    inputs["county"].write_text(json.dumps(COUNTY[0], ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    report = _ingest([inputs["a"], inputs["county"]], ingested, embedder)
    assert len(report.errors) == 2 and _counts(report) == (0, 0, 1, 0)
    assert _holding(ingested, "八百千瓦") and _holding(ingested, "六百名农民") and len(_stored(ingested)) == 7


def test_retracted_text_is_no_longer_answered(ingested: Path, inputs: dict[str, Path], embedder: Embedder) -> None:
    question = "卫庄镇光伏扶贫电站的装机容量是多少？"
    engine = Engine(ingested, embedder=embedder)  # kept across the correction, as the chat page keeps it
    assert "八百千瓦" in _cited(engine, question)
    inputs["a"].write_text(f"# 本县简讯\n\n{BRIEF_A}\n", encoding="utf-8")
    assert _ingest([inputs["a"]], ingested, embedder).articles_removed == 1
    assert "八百千瓦" not in _cited(engine, question)
    assert "八百千瓦" not in _cited(Engine(ingested, embedder=embedder), question)


def test_a_corrected_upload_replaces_the_earlier_upload_of_that_name(tmp_path: Path, embedder: Embedder) -> None:
    first, second = tmp_path / "upload1" / "01.txt", tmp_path / "upload2" / "01.txt"  # per-upload folders
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text(ISSUE_A, encoding="utf-8")
    second.write_text(f"# 本县简讯\n\n{BRIEF_A.replace('三点六', '三点八')}\n", encoding="utf-8")
    directory = tmp_path / "index"
    assert _counts(_ingest([first], directory, embedder, source_key="name")) == (2, 0, 0, 0)
    assert _counts(_ingest([second], directory, embedder, source_key="name")) == (0, 1, 0, 1)
    assert [title for title, _ in _stored(directory)] == ["本县简讯"] and _holding(directory, "三点八公里")
    with pytest.raises(ValueError, match="name, path"):
        _ingest([second], directory, embedder, source_key="inode")


def test_an_index_from_before_source_keys_is_rekeyed_without_duplicates(
    inputs: dict[str, Path], tmp_path: Path, embedder: Embedder
) -> None:
    directory = tmp_path / "index"
    legacy = [_unscoped(a) for p in (inputs["a"], inputs["county"]) for d in read_file(p).documents for a in split_document(d)]
    _store(directory, legacy, embedder)
    report = _ingest([inputs["a"], inputs["b"], inputs["county"]], directory, embedder)
    assert _counts(report) == (1, 4, 0, 0) and not report.errors  # 01.txt of 11-24 is new
    index = Index.open(directory)
    assert len(index.list_articles()) == 5 and all("source_key" in s.article.meta for s in index.list_articles())
    assert not {a.id for a in legacy} & {s.article.id for s in index.list_articles()}
    assert len(_stored(directory)) == 5


def _unscoped(article: Article) -> Article:
    """The article as ids were made before source keys: file name, title, date; a record's own id."""
    meta = {k: v for k, v in article.meta.items() if k not in ("source_key", "record_id")}
    old_id = article.meta.get("record_id") or article_id(article.source, article.title, article.date)
    return replace(article, id=old_id, meta=meta)


def _store(directory: Path, articles: list[Article], embedder: Embedder) -> None:
    """Write articles straight into a new index, the way the ingest of before did."""
    tokenize = get_tokenizer(DEFAULT_TOKENIZER)
    items = []
    for article in articles:
        chunks = chunk_article(article.id, article.text)
        items.append((article, chunks, [tokenize(c.text) for c in chunks]))
    vectors = embedder.encode_passages([c.text for _, chunks, _ in items for c in chunks])
    index = Index(directory)
    with index.writing():
        index.check_model(embedder)
        index.put_articles(items, vectors)
        index.rebuild_bm25()
    index.close()


def _remove(directory: Path, *args: str) -> tuple[int, str, list[dict[str, str]]]:
    from cli import main

    result = CliRunner().invoke(main, ["remove", *args, "--index", str(directory), "--json"])
    removed = json.loads(result.stdout)["removed"] if result.exit_code == 0 else []
    return result.exit_code, result.stderr, removed


def test_newsqa_remove_takes_out_a_source_or_an_article(ingested: Path, inputs: dict[str, Path]) -> None:
    code, error, _ = _remove(ingested, "01.txt")  # two sources have that name: remove neither
    assert code == 1 and str(inputs["a"]) in error and str(inputs["b"]) in error
    code, _, removed = _remove(ingested, str(inputs["b"]))
    assert code == 0 and [r["title"] for r in removed] == ["本县简讯"] and _holding(ingested, "两千册") == []
    code, _, removed = _remove(ingested, "county.jsonl")
    assert code == 0 and sorted(r["title"] for r in removed) == sorted(["县医院开设夜间门诊", "县里举办农民运动会"])
    solar = next(i for i, in Index.open(ingested).db.execute("select id from articles where title like '%电站'"))
    code, _, removed = _remove(ingested, solar)
    assert code == 0 and [r["id"] for r in removed] == [solar]
    assert sorted(title for title, _ in _stored(ingested)) == sorted(["本县简讯", "运城开通机场快线", "运城盐湖迎来火烈鸟"])
    code, error, _ = _remove(ingested, "no-such-issue.txt")
    assert code == 1 and "cannot remove" in error
