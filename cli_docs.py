"""README parts made from the click commands themselves, through cog (`cog -r README.md`; the tests run
`cog --check`): the settings table (every option that reads an environment variable) and every
command's --help. Nothing here is written by hand, so the README cannot drift from the CLI."""

from __future__ import annotations

import click

from cli import main

WIDTH = 100  # help is wrapped to the terminal; a fixed width keeps the README stable


def settings_table() -> str:
    """| flag | environment | default | commands | meaning |, one row per environment variable."""
    rows: dict[str, list[str]] = {}
    for name, command in sorted(main.commands.items()):
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar:
                row = rows.setdefault(str(param.envvar), [param.opts[0], str(param.envvar),
                                                          f"`{param.default}`" if param.default is not None else "",
                                                          "", param.help or ""])
                row[3] = f"{row[3]}, {name}" if row[3] else name
    lines = ["| flag | environment | default | commands | meaning |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| `{flag}` | `{env}` | {default} | {commands} | {meaning} |"
              for flag, env, default, commands, meaning in rows.values()]
    return "\n".join(lines)


def command_help() -> str:
    """`newsqa --help` and each command's --help, as the terminal prints them at WIDTH columns."""
    root = click.Context(main, info_name="newsqa", terminal_width=WIDTH, max_content_width=WIDTH)
    parts = [f"$ newsqa --help\n{main.get_help(root)}"]
    for name, command in sorted(main.commands.items()):
        context = click.Context(command, info_name=name, parent=root, terminal_width=WIDTH, max_content_width=WIDTH)
        parts.append(f"$ newsqa {name} --help\n{command.get_help(context)}")
    return "```text\n" + "\n\n".join(parts) + "\n```"
