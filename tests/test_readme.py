"""The README is the contract: its commands exist, have help, and CI runs its test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _documented_subcommands() -> set[str]:
    return set(re.findall(r"^cppcc-kb ([a-z]+)", README, flags=re.M))


def test_first_screen_holds_the_run_and_test_commands():
    first_screen = "\n".join(README.splitlines()[:20])
    assert "make run" in first_screen and "make test" in first_screen


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.M)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test: ", makefile, flags=re.M) and re.search(r"^run: ", makefile, flags=re.M)


def test_every_documented_command_exists_and_has_help():
    from cppcc_kb.cli import cli

    documented = _documented_subcommands()
    assert {"ingest", "list", "remove", "ask", "serve", "eval", "bench"} <= documented
    runner = CliRunner()
    for name in sorted(documented):
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_every_cli_command_has_help_text():
    from cppcc_kb.cli import cli

    for name, command in cli.commands.items():
        assert (command.help or "").strip(), f"`cppcc-kb {name}` has no help text"


def test_help_does_not_import_the_heavy_libraries():
    """`cppcc-kb --help` must answer at once: models, Chroma and Gradio load inside commands."""
    code = ("import sys; from cppcc_kb.cli import cli; "
            "print(','.join(m for m in ('torch', 'chromadb', 'gradio', 'sentence_transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
