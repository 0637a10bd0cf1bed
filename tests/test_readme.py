"""The README stays true: its commands, its configuration table."""

from __future__ import annotations

import re

from conftest import REPO as REPO_ROOT

from argus_cli.config import VARIABLES

README = (REPO_ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(lines) == 2
    assert "argus cycle" in lines[0] and "pytest" in lines[1]


def test_config_table_has_every_variable_with_its_default():
    table = README.split("<!-- config-table:start -->")[1].split("<!-- config-table:end -->")[0]
    rows = {m.group(1): m.group(2).replace("\\|", "|")  # a pipe in a table cell is written \|
            for m in re.finditer(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", table, re.M)}
    for var in VARIABLES:
        assert var.name in rows, var.name
        assert rows[var.name] == (var.default or "—"), var.name
    assert set(rows) == {var.name for var in VARIABLES}


def test_the_top_level_prompt_is_the_packaged_one():
    """`prompt.md` at the top level is where operators look; the package ships the one Argus reads."""
    top, packaged = REPO_ROOT / "prompt.md", REPO_ROOT / "argus_cli" / "prompt.md"
    assert top.read_text() == packaged.read_text()
    assert top.is_symlink() and top.resolve() == packaged.resolve()
