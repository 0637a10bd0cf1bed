"""The dependency rules of STYLE.md, read from the imports so they stay true."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "argus_cli"


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(module, at_top_level) for every import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
    return found


def modules() -> list[tuple[str, list[tuple[str, bool]]]]:
    return [(str(p.relative_to(PACKAGE)), imports_of(p)) for p in sorted(PACKAGE.rglob("*.py"))]


def test_nothing_imports_the_cli_layer():
    offenders = [name for name, imps in modules() if not name.startswith("cli/")
                 and name != "__main__.py" and any(m.startswith("argus_cli.cli") for m, _ in imps)]
    assert offenders == []


def test_anthropic_only_in_the_llm_decider_and_never_at_import_time():
    users = {name for name, imps in modules() if any(m.split(".")[0] == "anthropic" for m, _ in imps)}
    assert users <= {"decide/llm.py"}
    eager = [name for name, imps in modules() if any(m.split(".")[0] == "anthropic" and top for m, top in imps)]
    assert eager == []


def test_rich_only_in_cli_rendering_and_lazily():
    """rich lives in the CLI; at module level only in cli/render_* modules, which load lazily."""
    for name, imps in modules():
        rich = [(m, top) for m, top in imps if m.split(".")[0] == "rich"]
        if rich:
            assert name.startswith("cli/"), name
            if any(top for _, top in rich):
                assert name.startswith("cli/render"), f"{name} imports rich at module level"
        eager_renderers = [m for m, top in imps if top and m.startswith("argus_cli.cli.render")]
        assert eager_renderers == [], f"{name} imports a renderer at module level"


def test_psutil_only_in_collectors_actions_and_process_identity():
    """processes.py is the leaf both collectors and actions read the process table through."""
    users = {name for name, imps in modules() if any(m.split(".")[0] == "psutil" for m, _ in imps)}
    assert all(name.startswith(("collectors/", "actions/")) or name == "processes.py" for name in users), users


def test_model_config_text_and_snapshot_are_leaves():
    for leaf in ("model.py", "config.py", "text.py", "snapshot.py"):
        imps = dict(modules())[leaf]
        assert not [m for m, _ in imps if m.startswith("argus_cli")], leaf


def test_no_shell_anywhere():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "shell=True" not in text and "os.system(" not in text and "os.popen(" not in text, path


def test_state_and_collectors_stay_below_the_layers_that_use_them():
    """state/ and collectors/ are building blocks: they never reach up into notify, actions,
    decide, reports, the cycle or the CLI."""
    upper = ("argus_cli.notify", "argus_cli.actions", "argus_cli.decide", "argus_cli.reports",
             "argus_cli.cycle", "argus_cli.cli", "argus_cli.runtime")
    offenders = [(name, m) for name, imps in modules() if name.startswith(("state/", "collectors/"))
                 for m, _ in imps if m.startswith(upper)]
    assert offenders == []


def test_process_identity_is_a_leaf():
    """Collectors and actions both stand on processes.py; it stands on neither (stdlib and psutil)."""
    imps = dict(modules())["processes.py"]
    assert not [m for m, _ in imps if m.startswith("argus_cli")]


def test_actions_do_not_import_collectors():
    """Actions act on what a snapshot reported and re-check the host themselves: what they share
    with collectors (process identity, text) lives in leaves below both."""
    offenders = [(name, m) for name, imps in modules() if name.startswith("actions/")
                 for m, _ in imps if m.startswith("argus_cli.collectors")]
    assert offenders == []


def test_reports_do_not_import_notify():
    """Reports are aggregation: they return data; the command or a notify module delivers it."""
    offenders = [(name, m) for name, imps in modules() if name.startswith("reports/")
                 for m, _ in imps if m.startswith("argus_cli.notify")]
    assert offenders == []


def test_data_crossing_layers_is_typed():
    """Snapshots, config, state files and reports have types; a bare ``dict[str, Any]`` is left only
    at a few generic edges (JSONL lines as read, the collectors' assembly). The count only goes down."""
    untyped = sum(p.read_text().count("dict[str, Any]") for p in PACKAGE.rglob("*.py"))
    assert untyped <= 40, untyped


def test_comments_point_into_the_repository():
    """A newcomer can open docs/ARCHITECTURE.md; the outside spec is cited in notes, not in code."""
    assert [p.name for p in PACKAGE.rglob("*.py") if "SPEC §" in p.read_text()] == []
    assert (PACKAGE.parent / "docs" / "ARCHITECTURE.md").is_file()
