"""Edge: the `newsqa` command. Flags and environment in, calls into ingest/rag/eval, text or JSON out.

The commands live by group in cli_archive.py, cli_answer.py and cli_eval.py; cli_common.py holds
what they share. Example: newsqa ask "王宏伟提出了哪几点要求"
"""

from __future__ import annotations

import click

from cli_answer import ask, chat, serve
from cli_archive import compact, ingest, list_articles, remove_command, show
from cli_eval import bench, evaluate


@click.group()
@click.version_option(package_name="newsqa")
def main() -> None:
    """newsqa: ask questions of a Chinese newspaper archive and get answers cited to the source text."""


for command in (ingest, list_articles, show, remove_command, compact, ask, chat, serve, evaluate, bench):
    main.add_command(command)


if __name__ == "__main__":
    main()
