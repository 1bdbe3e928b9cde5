"""An optional cross-encoder that rescores the scorer's best candidate sentences (`--reranker PATH`).

A sentence-transformers `CrossEncoder` reads the question and a sentence together, so it sees what
the lexical features cannot (「美媒最初报道」 against a later correction). Reranking is off by default:
nothing can be downloaded at run time here, and a base-size reranker took about a second per
question on two cores (one busy) where the learned scorer takes milliseconds. With a local folder (for instance BAAI/bge-reranker-base or
BAAI/bge-reranker-v2-m3, both trained on Chinese, saved with `CrossEncoder(...).save_pretrained(DIR)`
on a machine with network), the scorer's RERANK_TOP best sentences are put in the reranker's order;
the answerability still comes from the scorer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

RERANK_TOP = 8  # candidates the cross-encoder reads per question: enough to hold the answer, few enough to be quick


@lru_cache(maxsize=2)
def load_reranker(path: Path) -> CrossEncoder:
    """The cross-encoder saved in the folder `path`, on the CPU, never fetched from a hub.

    Raises:
        FileNotFoundError: `path` is not a saved model folder.
    """
    if not (Path(path) / "config.json").is_file():
        raise FileNotFoundError(f"{path}: not a saved reranker (no config.json); save one with "
                                "CrossEncoder('BAAI/bge-reranker-base').save_pretrained(DIR) where a model hub is reachable")
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(path), device="cpu", local_files_only=True)


def rerank_scores(reranker: CrossEncoder, question: str, sentences: list[str]) -> list[float]:
    """The reranker's score of each sentence as an answer to `question` (higher: better), on the cores
    other processes leave free (a question must stay quick while an ingest runs)."""
    import torch

    from ingest.embed import query_threads

    torch.set_num_threads(query_threads())
    scores = reranker.predict([(question, sentence) for sentence in sentences], show_progress_bar=False)
    return [float(score) for score in scores]
