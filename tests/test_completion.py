"""Shell completion as a user installs it: ``shopbridge --show-completion`` / ``--install-completion``
(typer's), and the script they give completing commands in a real bash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunCli

BIN = Path(sys.executable).parent  # the venv's bin, where the console script ``shopbridge`` is


def shopbridge_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPBRIDGE_", "_SHOPBRIDGE"))}
    return env | {"HOME": str(home), "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}


def test_show_completion_gives_a_script_for_shopbridge(run_cli: RunCli) -> None:
    shown = run_cli("--show-completion", "bash")
    assert shown.returncode == 0, shown.stderr
    assert "_SHOPBRIDGE_COMPLETE=complete_bash" in shown.stdout
    assert shown.stdout.rstrip().endswith("shopbridge")  # `complete ... shopbridge`: the command's name


def test_the_script_completes_commands_and_options_in_bash(tmp_path: Path) -> None:
    if not (BIN / "shopbridge").exists():
        pytest.fail("the shopbridge console script is not installed beside the interpreter (make .venv)")
    # Bash calls a completion function with the command, the word being completed and the one before.
    script = """
        source <(shopbridge --show-completion bash)
        COMP_WORDS=(shopbridge sy) COMP_CWORD=1
        _shopbridge_completion shopbridge sy shopbridge; echo "commands: ${COMPREPLY[*]}"
        COMP_WORDS=(shopbridge sync --dr) COMP_CWORD=2
        _shopbridge_completion shopbridge --dr sync; echo "options: ${COMPREPLY[*]}"
    """
    done = subprocess.run(
        ["bash", "-c", script], env=shopbridge_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "commands: sync" in done.stdout
    assert "options: --dry-run" in done.stdout


def test_install_completion_writes_the_script_where_bash_reads_it(tmp_path: Path, run_cli: RunCli) -> None:
    installed = run_cli("--install-completion", "bash", env={"HOME": str(tmp_path)})
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "shopbridge.sh"
    assert "_SHOPBRIDGE_COMPLETE=complete_bash" in script.read_text()
    assert ".bash_completions/shopbridge.sh" in (tmp_path / ".bashrc").read_text()
