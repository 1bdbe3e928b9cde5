"""The settings table feeds --help and the README; they must agree."""

import re
from pathlib import Path

from click.testing import CliRunner

from cli import main
from settings import SETTINGS, markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_table_is_made_from_the_settings() -> None:
    text = README.read_text(encoding="utf-8")
    table = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", text, re.S)
    assert table, "README lost its settings table markers"
    assert table.group(1) == markdown_table(), "regenerate the README table from settings.markdown_table()"


def test_every_setting_is_a_flag_whose_help_names_its_variable() -> None:
    helps = "".join(CliRunner().invoke(main, [command, "--help"]).stdout for command in main.commands)
    for setting in SETTINGS:
        assert f"--{setting.name}" in helps, setting.name
        assert setting.env in helps.replace("\n", " ").replace("  ", " "), setting.env
