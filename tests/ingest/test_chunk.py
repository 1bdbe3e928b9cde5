from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.articles import split_document
from ingest.chunk import chunk_article, sentence_spans
from ingest.document import Document
from tests.conftest import SAMPLE_FILE


def _sample_articles() -> list:
    return split_document(Document(source=SAMPLE_FILE.name, text=SAMPLE_FILE.read_text(encoding="utf-8-sig")))


def _check_invariants(text: str, chunks: list, max_chars: int) -> None:
    paragraphs = text.split("\n")
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert 0 < len(chunk.text) <= max_chars
        assert chunk.text.split("\n")[0] in paragraphs[chunk.paragraph]
    covered = "".join(c.text for c in chunks)
    assert "".join(covered.split()) == "".join(text.split())
    assert [c.n for c in chunks] == list(range(len(chunks)))


def test_sample_chunks_point_at_their_text() -> None:
    for article in _sample_articles():
        chunks = chunk_article(article.id, article.text, 120)
        _check_invariants(article.text, chunks, 120)


def test_chunks_end_at_sentence_ends_when_they_can() -> None:
    article = _sample_articles()[0]
    for chunk in chunk_article(article.id, article.text, 200):
        if len(chunk.text) < 150:
            assert chunk.text[-1] in "。！？!?；;…”’」』）)"


def test_closing_quote_stays_with_its_sentence() -> None:
    text = "他说：“我们一定完成任务。”大家鼓掌。"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["他说：“我们一定完成任务。”", "大家鼓掌。"]


def test_an_overlong_sentence_is_cut_at_a_comma() -> None:
    text = "，".join(["这是一个很长的分句"] * 40) + "。"
    chunks = chunk_article("a", text, 50)
    _check_invariants(text, chunks, 50)
    assert all(c.text.endswith(("，", "。")) for c in chunks[:-1])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="我县召开会议强调要求。，！？；“”\n 一二三", min_size=0, max_size=80), max_size=6),
       st.integers(min_value=5, max_value=60))
def test_no_text_is_lost_or_duplicated(parts: list[str], max_chars: int) -> None:
    text = "\n".join(p.strip() for p in "".join(parts).split("\n"))
    chunks = chunk_article("a", text, max_chars)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text and len(chunk.text) <= max_chars
    assert "".join("".join(c.text for c in chunks).split()) == "".join(text.split())
