"""The page's eval tab (app.py): run a set's dev and test halves, and say what they show in Chinese.

Every figure's name and meaning lives in LABELS and MEANINGS, one line each, keyed by the metric
names of eval/report.py's TABLE_COLUMNS. eval.report and eval.run load llama-index: they are
imported where they are used, so an empty archive's page starts without them. Set names, titles and questions come from users and the
archive: they go through `html.escape` before they are put into HTML.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from eval.sets import DATA_DIR, TYPES, EvalSet, EvalSetError, load_set, qrels, set_files

if TYPE_CHECKING:
    from eval.report import SuiteRun
    from eval.run import EvalResult
    from ingest.index import StoredArticle
    from rag.engine import Engine

LABELS = {
    "answered_correctly": "答对率", "wrong_answer": "答错率", "false_refusal": "误拒率",
    "refusal_precision": "拒答精确率", "refusal_recall": "拒答召回率", "near_miss_refused": "近似陷阱拒答率",
    "retrieval_hit@5": "检索命中@5", "citation_support": "引用支撑率", "p50_ms": "中位耗时(毫秒)",
    # not in the table, but a set's thresholds may name them
    "citation_validity": "引用有效率", "keypoint_recall": "要点召回率", "list_completeness": "列举完整率",
    "p95_ms": "95分位耗时(毫秒)",
}
MEANINGS = {
    "answered_correctly": "档案中有答案的问题里，未拒答且答案包含全部要点的比例",
    "wrong_answer": "档案中有答案的问题里，作答了却漏掉要点的比例（答错比拒答更糟）",
    "false_refusal": "档案中有答案的问题里，却回答「档案中没有找到」的比例；与答对率、答错率合计为 100%",
    "refusal_precision": "所有拒答里，确实该拒答（档案中没有答案）的比例",
    "refusal_recall": "档案中没有答案的问题里，正确拒答的比例",
    "near_miss_refused": "「近似陷阱」题（人物、地点或事件在档案中，所问的事实却不在）里，正确拒答的比例",
    "retrieval_hit@5": "有答案的问题里，答案所在文章排在检索结果前 5 篇之内的比例（只看检索，不看回答）",
    "citation_support": "答案中出现的要点里，紧随其后的引用 [n] 原文确实包含该要点的比例",
    "p50_ms": "每题从提问到得到完整回答的耗时中位数，随机器负载波动",
}
SPLITS = {"dev": "开发集", "test": "测试集", None: "未划分"}
OUTCOMES = {"correct": "答对", "wrong": "答错", "false_refusal": "误拒", "refused": "正确拒答", "answered": "应拒答却作答"}
# EvalSetError reasons (eval/sets.py) in Chinese; an unknown reason is shown as it is
_REASONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), zh) for p, zh in (
    (r"^not JSON \((.*)\)$", r"不是合法的 JSON（\1）"),
    (r"^each line must be a JSON object$", "每行必须是一个 JSON 对象"),
    (r"^'question' must be a non-empty string$", "'question' 必须是非空字符串"),
    (r"^'type' must be one of .*$", f"'type' 必须是 {'、'.join(TYPES)} 之一"),
    (r"^'(\w+)' must be a non-empty string or a list of them$", r"'\1' 必须是非空字符串，或由非空字符串组成的列表"),
    (r"^'(\w+)' must be YYYY-MM-DD$", r"'\1' 必须是 YYYY-MM-DD 格式的日期"),
    (r"^a (\S+) question needs 'gold'.*$", r"\1 类问题需要 'gold'（答案所在文章的标题）"),
    (r"^a no-answer question has no 'gold' and no 'key_points'$", "no-answer 类问题不能有 'gold' 或 'key_points'"),
    (r"^a follow-up question needs 'history'.*$", "follow-up 类问题需要 'history'（之前问过的问题）"),
    (r"^'archive' must be .*$", "'archive' 必须是相对评测集文件的路径，或 \"news\""),
    (r"^repeated qid: (.*)$", r"qid 重复：\1"),
)]
# the notes eval/run.py adds to a question's "missed" list, in Chinese; found anywhere in a text,
# since a regression's reason joins several of them (and key points) with "; "
_NOTES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), zh) for p, zh in (
    (r"\(refused\)", "（误拒）"), (r"\(answered; expected a refusal\)", "（应拒答却作答）"),
    (r"\(gold article not in the index\)", "（答案所在文章不在档案中）"),
    (r"\((\d+) key point\(s\) not quoted by the citation after them\)", r"（\1 个要点未被其后的引用原文包含）"),
    (r"\(the answer cites nothing\)", "（回答没有引用）"), (r"\(\[(\d+)\] [^()]*\)", r"（引用 [\1] 有误）"),
    (r"\(error: (.*)\)$", r"（出错：\1）"),
)]
_FAILURES = ("wrong", "false_refusal", "answered")  # outcomes that fail a question by themselves
_SAID = ("(refused)", "(answered; expected a refusal)")  # notes the outcome column already says
_LIST_MAX = 20  # lines of a list of questions; the rest is counted


class SetProblem(ValueError):
    """An eval set the page cannot run; the message is Chinese, for the user."""


def set_choices(data_dir: Path = DATA_DIR) -> list[str]:
    """Names of the sets in `data_dir` that have both a dev and a test half."""
    return [name for name, files in set_files(data_dir).items() if {"dev", "test"} <= set(files)]


def _translate(text: str, table: list[tuple[re.Pattern[str], str]]) -> str:
    return next((pattern.sub(zh, text) for pattern, zh in table if pattern.match(text)), text)


def _notes_zh(text: str) -> str:
    for pattern, zh in _NOTES:
        text = pattern.sub(zh, text)
    return text


def set_error_zh(exc: EvalSetError) -> str:
    """「bad.jsonl 第3行：'type' 必须是 fact、…之一」 from an EvalSetError."""
    file, _, line = exc.where.rpartition(":")
    where = f"{Path(file).name} 第{line}行" if line.isdigit() else Path(exc.where).name
    return f"{where}：{_translate(exc.reason, _REASONS)}"


def _load(path: Path) -> EvalSet:
    if path.suffix != ".jsonl":
        raise SetProblem(f"{path.name}：评测集须为 .jsonl 文件（每行一个 JSON 对象）")
    try:
        eval_set = load_set(path)
    except EvalSetError as exc:
        raise SetProblem(set_error_zh(exc)) from None
    except UnicodeDecodeError:
        raise SetProblem(f"{path.name}：文件不是 UTF-8 编码的文本") from None
    if not eval_set.questions:
        raise SetProblem(f"{path.name}：没有任何问题（每行一个问题，格式见 README 的评测一节）")
    return eval_set


def chosen_halves(name: str | None, uploads: Sequence[str] | None, data_dir: Path = DATA_DIR) -> list[EvalSet]:
    """The halves to run: the uploaded files when there are any (each a set or a half of one),
    else the dev and test halves of the set `name` of `data_dir`.

    Raises:
        SetProblem: no set chosen, or a file that is not a valid eval set (said in Chinese).
    """
    if uploads:
        halves = sorted((_load(Path(p)) for p in uploads), key=lambda h: (h.name, h.split != "dev"))
        names = [h.run_name for h in halves]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise SetProblem(f"上传了两个同名的评测集：{'、'.join(repeated)}（开发集和测试集须分别命名为 NAME.dev.jsonl 和 NAME.test.jsonl）")
        return halves
    from eval.suite import load_pair

    files = set_files(data_dir).get(name or "")
    if not files:
        raise SetProblem("请先选择一个评测集，或上传 JSONL 评测集。")
    try:
        return list(load_pair(files.get("dev") or files["test"]).halves)
    except EvalSetError as exc:
        raise SetProblem(set_error_zh(exc)) from None


def run_halves(engine: Engine, index_dir: Path, halves: Sequence[EvalSet],
               progress: Callable[[str, int, int], None]) -> SuiteRun:
    """Evaluate each half, compare with its previous run and save it, as `newsqa eval` does.
    progress(run name, done, total) after each question."""
    from eval.report import compare_and_save
    from eval.run import evaluate

    results = []
    for half in halves:
        results.append(evaluate(engine, half, lambda done, total, name=half.run_name: progress(name, done, total)))
    return compare_and_save(results, index_dir)


def uncovered_titles(stored: Iterable[StoredArticle], halves: Sequence[EvalSet]) -> list[str]:
    """Titles of the articles that no question's gold title or gold id resolves to (as `evaluate` resolves them)."""
    from eval.run import gold_lookup

    articles = [s.article for s in stored]
    lookup = gold_lookup(articles)
    covered = {i for half in halves for gold in qrels(half, *lookup).values() for i in gold}
    return [a.title or a.id for a in articles if a.id not in covered]


# ---- rendering -----------------------------------------------------------------------------------
def _figure(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if name.endswith("_ms") else f"{value * 100:.1f}%"


def _cell(name: str, value: float | None, before: float | None, has_previous: bool, lower_is_better: bool) -> str:
    trend = ""
    if value is not None and before is not None and not name.endswith("_ms") and abs(value - before) >= 0.001:
        trend = " worse" if (value > before) == lower_is_better else " better"
    previous = f'<div class="eval-prev">上次 {_figure(name, before)}</div>' if has_previous else ""
    return f'<td class="eval-num{trend}">{_figure(name, value)}{previous}</td>'


def table_html(run: SuiteRun) -> str:
    """The one table (a row per set and half, TABLE_COLUMNS in Chinese, each figure over the
    previous run's) and a line explaining each figure."""
    from eval.report import LOWER_IS_BETTER, TABLE_COLUMNS

    head = "".join(f"<th>{h}</th>" for h in ("集合", "划分", "题数", *(_label(n) for n in TABLE_COLUMNS)))
    rows = []
    for r in run.results:
        old = run.previous.get(r.run_name)
        figures = "".join(_cell(n, r.metrics.get(n), (old or {}).get("metrics", {}).get(n), old is not None,
                                n in LOWER_IS_BETTER) for n in TABLE_COLUMNS)
        rows.append(f"<tr><td>{html.escape(r.set_name)}</td><td>{SPLITS.get(r.split, r.split)}</td>"
                    f"<td class=\"eval-num\">{r.metrics.get('questions', len(r.per_question))}</td>{figures}</tr>")
    notes = "".join(f"<li><b>{_label(n)}</b>：{MEANINGS.get(n, '')}</li>" for n in TABLE_COLUMNS)
    legend = ("「-」表示该划分没有可计量的题目；小字是上次评测的数值，绿色为变好、红色为变差。"
              if any(run.previous.values()) else "「-」表示该划分没有可计量的题目。下次评测时，每项数值旁会显示本次的数值以便比较。")
    return (f'<table class="eval-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p class="eval-legend">{legend}</p><ul class="eval-notes">{notes}</ul>')


def _label(name: str) -> str:
    return LABELS.get(name, name)


def _limited(lines: list[str]) -> list[str]:
    return lines[:_LIST_MAX] + ([f"<li>……另有 {len(lines) - _LIST_MAX} 道</li>"] if len(lines) > _LIST_MAX else [])


def _reason_zh(reason: str) -> str:
    if reason == "passed before, fails now":
        return "上次通过，这次未通过"
    if match := re.fullmatch(r"gold rank (\S+) -> (\S+)", reason):
        return f"答案所在文章的名次从第 {match[1]} 降到{'未命中' if match[2] == 'none' else f'第 {match[2]}'}"
    if reason.startswith("now misses "):
        return "新漏掉：" + _notes_zh(reason.removeprefix("now misses ")).replace("; ", "、")
    return reason


def _missed_mark(result: EvalResult, name: str) -> str:
    value, mark = result.metrics.get(name), result.thresholds.get(name)
    said = ("没有可计量的题目，而" if value is None else
            f"为 {_figure(name, value)}，{'高于' if name.endswith('_ms') else '低于'}")
    return f"<li>{html.escape(result.run_name)} 的<b>{html.escape(_label(name))}</b>{said}评测集设定的 {_figure(name, mark)}</li>"


def changes_html(run: SuiteRun) -> str:
    """What got worse since the previous runs (test figures beyond the tolerance, then questions),
    and the set's thresholds that were missed, in Chinese."""
    from eval.report import DEFAULT_TOLERANCE, dropped_figures

    dropped = [f"<li>{html.escape(run_name)} 的<b>{_label(name)}</b>从 {_figure(name, before)} 变为 "
               f"{_figure(name, after)}（超过 {DEFAULT_TOLERANCE * 100:g} 个百分点的容差）</li>"
               for run_name, name, before, after in dropped_figures(run.results, run.previous)]
    questions = [f"<li>{html.escape(r)} · {html.escape(w['qid'])}「{html.escape(w['question'])}」："
                 f"{html.escape('；'.join(_reason_zh(x) for x in w['reasons']))}</li>"
                 for r, worse in run.worse.items() for w in worse]
    missed = [_missed_mark(r, f.split()[0].rstrip(":")) for r in run.results for f in r.failures]  # "name = …" / "name: …"
    parts = []
    if not any(run.previous.values()):
        parts.append("<p>这是这些评测集在本档案上的第一次评测，下次评测时将与本次比较。</p>")
    elif not dropped and not questions:
        parts.append("<p>与上次评测相比，没有变差的指标或题目。</p>")
    if dropped:
        parts.append(f"<p><b>测试集指标下降：</b></p><ul>{''.join(dropped)}</ul>")
    if questions:
        parts.append(f"<p><b>比上次变差的题目（{len(questions)} 道）：</b></p><ul>{''.join(_limited(questions))}</ul>")
    if missed:
        parts.append(f"<p><b>未达到评测集设定的标准：</b></p><ul>{''.join(missed)}</ul>")
    return f'<div class="eval-changes">{"".join(parts)}</div>'


def failed_html(run: SuiteRun) -> str:
    """The questions not passed, per half: outcome and what was missed, in Chinese."""
    rows = [f"<tr><td>{html.escape(r.run_name)}</td><td>{html.escape(q['qid'])}</td><td>{html.escape(q['question'])}</td>"
            f"<td>{OUTCOMES[q['outcome']] if q['outcome'] in _FAILURES else '引用有误或出错'}</td>"
            f"<td>{html.escape('、'.join(_notes_zh(m) for m in q['missed'] if m not in _SAID))}</td></tr>"
            for r in run.results for q in r.per_question if not q["passed"]]
    if not rows:
        return "<p>所有题目均已通过。</p>"
    head = "".join(f"<th>{h}</th>" for h in ("评测集", "编号", "问题", "结果", "漏掉的要点与说明"))
    return f'<table class="eval-table eval-failed"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def uncovered_html(titles: list[str], shown: int = 10) -> str:
    """The notice about articles no question covers, with a hint to add questions ('' when none)."""
    if not titles:
        return ""
    listed = "".join(f"<li>{html.escape(t)}</li>" for t in titles[:shown])
    more = f"<li>……另有 {len(titles) - shown} 篇</li>" if len(titles) > shown else ""
    return (f'<div class="eval-uncovered"><p>以下 {len(titles)} 篇文章没有任何评测问题覆盖：</p><ul>{listed}{more}</ul>'
            "<p>这些文章的内容答得对不对，评测看不出来。请在评测集中为它们补充问题：每行一个 JSON，写明 question、type、"
            "gold（文章标题）和 key_points（答案中应原样出现的要点），格式见 README 的评测一节"
            "（Evaluation after each ingest）；新问题加入开发集，测试集只增不改。</p></div>")


def status_html(run: SuiteRun, articles: int, seconds: float) -> str:
    """One line: which halves ran on how many articles, and where the runs were saved."""
    halves = "，".join(f"{html.escape(r.run_name)} {len(r.per_question)} 题" for r in run.results)
    saved = "、".join(p.name for p in run.stored)
    return (f'<p class="eval-status">评测完成：{halves}，当前档案 {articles} 篇文章，用时 {seconds:.1f} 秒。'
            f"结果已保存到档案目录的 eval_runs/（{saved}）。</p>")


def problem_html(message: str) -> str:
    """A problem with the chosen set or the archive, shown in the page instead of an error popup."""
    return f'<div class="eval-problem">无法评测：{html.escape(message)}</div>'


def chart(results: Sequence[EvalResult]) -> dict[str, Any]:
    """The bar chart's update: every half's rates (times have another unit and stay in the table),
    in the table's order; a bar's label names its half, so no two bars share a place (they would stack)."""
    import pandas as pd

    from eval.report import TABLE_COLUMNS

    one_set = len({r.set_name for r in results}) == 1

    def series(r: EvalResult) -> str:
        return SPLITS.get(r.split, str(r.split)) if one_set else f"{r.set_name}·{SPLITS.get(r.split, str(r.split))}"

    rows = [{"项目": f"{_label(n)}·{series(r)}", "数值": r.metrics[n], "系列": series(r)}
            for n in TABLE_COLUMNS if not n.endswith("_ms") for r in results if r.metrics.get(n) is not None]
    return gr.update(value=pd.DataFrame(rows), sort=[row["项目"] for row in rows])


def run_page(engine: Engine, index_dir: Path, halves: Sequence[EvalSet],
             progress: Callable[[str, int, int], None]) -> tuple[Any, ...]:
    """Run the halves and return the tab's outputs: status, table, changes, uncovered articles, chart, failed questions."""
    started = time.perf_counter()
    run = run_halves(engine, index_dir, halves, progress)
    uncovered = uncovered_titles(engine.index.list_articles(), halves)
    return (status_html(run, engine.index.counts()["articles"], time.perf_counter() - started), table_html(run),
            changes_html(run), uncovered_html(uncovered), chart(run.results), failed_html(run))


def upload_note(uploads: Sequence[str] | None) -> str:
    """Checked as soon as files are uploaded: what will run, or what is wrong with them, in Chinese."""
    if not uploads:
        return ""
    try:
        halves = chosen_halves(None, uploads)
    except SetProblem as exc:
        return problem_html(str(exc))
    listed = "，".join(f"{html.escape(h.run_name)}（{SPLITS.get(h.split, h.split)}，{len(h.questions)} 题）" for h in halves)
    return f'<p class="eval-status">已读入上传的评测集：{listed}。点击「运行评测」开始。</p>'
