"""Settings reach the CLI through click's envvar=, and the README's table and command help are made from
the commands (cog): they cannot drift."""

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli import main
from settings import SETTINGS
from tests.conftest import SAMPLE_FILE

ROOT = Path(__file__).resolve().parent.parent


def test_readme_is_what_cog_makes_from_the_commands() -> None:
    done = subprocess.run([sys.executable, "-m", "cogapp", "--check", "--check-fail-msg=run: cog -r README.md",
                           "README.md"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_setting_is_an_option_that_click_reads_from_its_variable() -> None:
    envvars = {str(p.envvar) for c in main.commands.values() for p in c.params if getattr(p, "envvar", None)}
    assert envvars == {s.env for s in SETTINGS}
    helps = "".join(CliRunner().invoke(main, [command, "--help"]).stdout for command in main.commands)
    for setting in SETTINGS:
        assert f"--{setting.name}" in helps and setting.env in helps, setting.name


def test_an_environment_variable_sets_the_index_and_a_flag_wins(tmp_path: Path) -> None:
    env_index, flag_index = tmp_path / "from-env", tmp_path / "from-flag"
    runner = CliRunner()
    ingested = runner.invoke(main, ["ingest", str(SAMPLE_FILE)], env={"NEWSQA_INDEX": str(env_index)})
    assert ingested.exit_code == 0, ingested.output
    listed = runner.invoke(main, ["list", "--json"], env={"NEWSQA_INDEX": str(env_index)})
    assert len(json.loads(listed.output)) == 4
    missing = runner.invoke(main, ["list", "--index", str(flag_index)], env={"NEWSQA_INDEX": str(env_index)})
    assert missing.exit_code != 0 and str(flag_index) in missing.output
