"""Load eval sets: our JSONL question sets, and the ChronoQA / CMRC 2018 benchmarks, into one shape.

Eval set format (JSONL, UTF-8, one JSON object per line; blank lines are skipped):

    {"thresholds": {"hit@3": 0.95, "keypoint_recall": 0.9, "no_answer_recall": 1.0}}
    {"qid": "meet-wang-3", "type": "list", "question": "王宏伟提出了哪几点要求？",
     "gold": "全县脱贫工作成效考核推进会召开",
     "key_points": ["一、要切实扛起政治责任", "二、要切实抓住关键环节", "三、强化组织领导"]}
    {"qid": "fu-visit-date", "type": "follow-up", "history": ["王宏伟到哪个村调研脱贫攻坚工作"],
     "question": "他是哪天去的？", "gold": "王宏伟在下高池村调研脱贫攻坚工作", "key_points": ["11月16日"]}
    {"qid": "none-gdp", "type": "no-answer", "question": "绛县2019年的GDP是多少？"}

Fields of a question line:
    question    (required) the question as a user types it.
    type        (required) fact | list | date | person-role | no-answer | follow-up.
    qid         an id unique in the set; default "q<line number>".
    gold        title of the article that answers it, or a list of titles when several do
                (required unless type is no-answer, which must have none).
    gold_id     article id(s) instead of or besides titles; ids win when both are given.
    key_points  short strings that a correct answer contains verbatim (the answerer quotes the
                archive, so they are copied from the source text); compared after NFKC
                normalisation, so full- and half-width punctuation match.
    history     follow-up only: the earlier user questions of the chat, oldest first.
    since/until optional date filter, YYYY-MM-DD, passed to the engine as `SearchFilter`.
    tags        optional labels, e.g. ["near-miss"] for a no-answer question about people, places
                or events that are in the archive but a fact that is not; reported apart.

An optional header line (an object without "question") sets:
    thresholds  {metric: value}: a metric below its mark fails `newsqa eval` (for `p50_ms`/`p95_ms`
                the mark is an upper bound).
    archive     what the set's questions are about, for `newsqa eval --all-sets`: a folder or file
                relative to the set file (ingested into an index of its own), or "news" for the
                archive given by `--news PATH`.

Dev and test: a set is a pair of files NAME.dev.jsonl (tune rules, thresholds and trained models
on these only) and NAME.test.jsonl (never looked at while tuning; it changes only by adding
questions, with a line in eval/data/CHANGES.md). A file without .dev/.test is a set of its own.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.metrics import fold
from ingest.articles import normalise_date

TYPES = ("fact", "list", "date", "person-role", "no-answer", "follow-up")
DATA_DIR = Path(__file__).parent / "data"
SAMPLE_SET = DATA_DIR / "sample.dev.jsonl"
SPLITS = ("dev", "test")
BENCHMARKS = ("chronoqa", "cmrc2018")
NEAR_MISS = "near-miss"


class EvalSetError(ValueError):
    """A line of an eval set is not valid; the message names the file and line."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


@dataclass(frozen=True)
class EvalQuestion:
    """One question with what a correct answer must show."""

    qid: str
    question: str
    type: str
    gold_titles: tuple[str, ...] = ()
    gold_ids: tuple[str, ...] = ()
    key_points: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def expects_answer(self) -> bool:
        return self.type != "no-answer"


@dataclass(frozen=True)
class EvalSet:
    """Questions plus pass marks; `name` (with `split`) keys the regression history."""

    name: str
    questions: tuple[EvalQuestion, ...]
    thresholds: dict[str, float] = field(default_factory=dict)
    split: str | None = None  # "dev" | "test" | None (a set not split)
    archive: str | None = None  # the header's "archive", resolved against the set's folder

    @property
    def run_name(self) -> str:
        """The name a run is stored under: "sample.test", or the bare name of an unsplit set."""
        return f"{self.name}.{self.split}" if self.split else self.name


def split_name(path: Path) -> tuple[str, str | None]:
    """("sample", "test") for sample.test.jsonl; (stem, None) for a file without a split."""
    stem = path.name.removesuffix(".jsonl")
    name, _, split = stem.rpartition(".")
    return (name, split) if name and split in SPLITS else (stem, None)


def set_files(data_dir: Path = DATA_DIR) -> dict[str, dict[str, Path]]:
    """Every set in `data_dir`: {name: {"dev": path, "test": path}} (a split may be missing;
    an unsplit file is listed under "dev")."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(Path(data_dir).glob("*.jsonl")):
        name, split = split_name(path)
        found.setdefault(name, {})[split or "dev"] = path
    return found


def _strings(value: Any, where: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise EvalSetError(where, f"'{name}' must be a non-empty string or a list of them")
    return tuple(values)


def _question(record: dict[str, Any], where: str, default_qid: str) -> EvalQuestion:
    question, kind = record.get("question"), record.get("type")
    if not isinstance(question, str) or not question.strip():
        raise EvalSetError(where, "'question' must be a non-empty string")
    if kind not in TYPES:
        raise EvalSetError(where, f"'type' must be one of {', '.join(TYPES)}")
    item = EvalQuestion(
        qid=str(record.get("qid") or default_qid), question=question.strip(), type=kind,
        gold_titles=_strings(record.get("gold"), where, "gold"), gold_ids=_strings(record.get("gold_id"), where, "gold_id"),
        key_points=_strings(record.get("key_points"), where, "key_points"),
        history=_strings(record.get("history"), where, "history"),
        since=record.get("since"), until=record.get("until"), tags=_strings(record.get("tags"), where, "tags"),
    )
    for name in ("since", "until"):
        value = record.get(name)
        if value is not None and (not isinstance(value, str) or len(value) != 10 or normalise_date(value) != value):
            raise EvalSetError(where, f"'{name}' must be YYYY-MM-DD")
    has_gold = bool(item.gold_titles or item.gold_ids)
    if item.expects_answer and not has_gold:
        raise EvalSetError(where, f"a {kind} question needs 'gold' (the answering article's title)")
    if not item.expects_answer and (has_gold or item.key_points):
        raise EvalSetError(where, "a no-answer question has no 'gold' and no 'key_points'")
    if kind == "follow-up" and not item.history:
        raise EvalSetError(where, "a follow-up question needs 'history' (the earlier questions)")
    return item


def load_set(path: Path | None = None) -> EvalSet:
    """Read an eval set file (default: the packaged sample set); see the module doc for the format.

    Raises:
        EvalSetError: a line is not valid JSON or misses a required field, or a qid repeats.
    """
    path = Path(path) if path else SAMPLE_SET
    questions: list[EvalQuestion] = []
    thresholds: dict[str, float] = {}
    archive: str | None = None
    for line_no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{line_no}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(where, f"not JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise EvalSetError(where, "each line must be a JSON object")
        if "question" not in record and ("thresholds" in record or "archive" in record):
            thresholds.update({str(k): float(v) for k, v in record.get("thresholds", {}).items()})
            archive = _archive(record.get("archive"), path, where) or archive
            continue
        questions.append(_question(record, where, f"q{line_no}"))
    qids = [q.qid for q in questions]
    if len(set(qids)) != len(qids):
        raise EvalSetError(str(path), f"repeated qid: {sorted({q for q in qids if qids.count(q) > 1})}")
    name, split = split_name(path)
    return EvalSet(name, tuple(questions), thresholds, split, archive)


def _archive(value: Any, path: Path, where: str) -> str | None:
    if value is None or value == "news":
        return value
    if not isinstance(value, str) or not value.strip():
        raise EvalSetError(where, "'archive' must be a path relative to the set file, or \"news\"")
    return str((path.parent / value).resolve())


def queries(eval_set: EvalSet) -> dict[str, str]:
    """BEIR queries: {qid: question}."""
    return {q.qid: q.question for q in eval_set.questions}


def qrels(eval_set: EvalSet, title_ids: dict[str, list[str]],
          record_ids: dict[str, list[str]] | None = None) -> dict[str, dict[str, int]]:
    """BEIR qrels {qid: {article_id: 1}} for the answerable questions; titles resolve through
    `title_ids` ({title: [article ids]}, from the index), and a gold id is an article id or a
    JSONL record id, resolved through `record_ids` ({record id: [article ids]}). A gold article
    missing from the index gives an empty qrel, which scores as a miss."""
    record_ids = record_ids or {}
    result: dict[str, dict[str, int]] = {}
    for q in eval_set.questions:
        if not q.expects_answer:
            continue
        ids = [i for gold in q.gold_ids for i in record_ids.get(gold, [gold])]
        ids = ids or [i for title in q.gold_titles for i in title_ids.get(title, [])]
        result[q.qid] = {article_id: 1 for article_id in ids}
    return result


# ---- public benchmarks --------------------------------------------------------------------------
@dataclass(frozen=True)
class Benchmark:
    """A benchmark's questions (gold = passage ids) and the passages to index, {passage id: text}."""

    eval_set: EvalSet
    passages: dict[str, str]


def _sampled(items: list[Any], sample: int | None, seed: int) -> list[Any]:
    if sample is None or sample >= len(items):
        return items
    return random.Random(seed).sample(items, sample)


def _in_split(number: int, split: str | None) -> bool:
    return split is None or (number % 2 == 0) == (split == "dev")


def load_chronoqa(path: Path, sample: int | None = None, seed: int = 0, split: str | None = None) -> Benchmark:
    """ChronoQA (`chronoqa.jsonl`); the passages come from `chronoqa_chunk_pool.jsonl` beside it.

    Split: dev = even `qid`, test = odd. Its answers are written by a language model, so the answer
    is a key point only where it occurs verbatim in a gold passage; the other questions count for
    retrieval and refusals only. With `sample`, only the sampled questions' passages."""
    pool_path = path.parent / "chronoqa_chunk_pool.jsonl"
    pool_lines = pool_path.read_text(encoding="utf-8").splitlines()
    pool = {r["chunk_id"]: r["text"] for r in (json.loads(line) for line in pool_lines if line.strip())}
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = _sampled([r for r in records if _in_split(int(r["qid"]), split)], sample, seed)

    def verbatim(record: dict[str, Any]) -> tuple[str, ...]:
        answer = str(record.get("answer") or "").strip()
        passages = [fold(pool.get(i, "")) for i in record["golden_chunk_ids"]]
        return (answer,) if answer and any(fold(answer) in text for text in passages) else ()

    questions = tuple(
        EvalQuestion(qid=f"chronoqa-{r['qid']}", question=r["question"], type="fact", gold_ids=tuple(r["golden_chunk_ids"]),
                     key_points=verbatim(r))
        for r in chosen
    )
    needed = {i for q in questions for i in q.gold_ids} if sample or split else set(pool)
    name = "chronoqa" + (f"-{sample}-seed{seed}" if sample else "")
    return Benchmark(EvalSet(name, questions, split=split), {i: pool[i] for i in sorted(needed) if i in pool})


CMRC_FILES = {"dev": "cmrc2018_trial.json", "test": "cmrc2018_dev.json"}


def load_cmrc2018(path: Path, sample: int | None = None, seed: int = 0, split: str | None = None) -> Benchmark:
    """CMRC 2018 in SQuAD layout; the gold is the context paragraph, and the first human answer
    (a span of that paragraph) is the key point. With `split`, `path` may be the folder or either
    file: dev = cmrc2018_trial.json, test = cmrc2018_dev.json."""
    if split:
        path = (path if path.is_dir() else path.parent) / CMRC_FILES[split]
    data = json.loads(path.read_text(encoding="utf-8"))
    contexts: dict[str, str] = {}
    items: list[EvalQuestion] = []
    for document in data["data"]:
        for paragraph in document["paragraphs"]:
            contexts[paragraph["id"]] = paragraph["context"]
            for qa in paragraph["qas"]:
                answer = next((a["text"].strip() for a in qa.get("answers", []) if a["text"].strip()), None)
                items.append(EvalQuestion(qid=qa["id"], question=qa["question"], type="fact", gold_ids=(paragraph["id"],),
                                          key_points=(answer,) if answer else ()))
    chosen = _sampled(items, sample, seed)
    needed = {q.gold_ids[0] for q in chosen} if sample else set(contexts)
    name = "cmrc2018" + (f"-{sample}-seed{seed}" if sample else "")
    return Benchmark(EvalSet(name, tuple(chosen), split=split), {i: contexts[i] for i in sorted(needed)})


_LOADERS = {"chronoqa": load_chronoqa, "cmrc2018": load_cmrc2018}


def load_benchmark(name: str, path: Path, sample: int | None = None, seed: int = 0,
                   split: str | None = None) -> Benchmark:
    """One of BENCHMARKS by name, its dev or test half with `split` (the whole file without).

    Raises:
        ValueError: an unknown benchmark name.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {', '.join(sorted(_LOADERS))}")
    return _LOADERS[name](Path(path), sample, seed, split)
