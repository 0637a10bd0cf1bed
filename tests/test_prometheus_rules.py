"""contrib/prometheus/argus.rules.yml: alerting rules that name only metrics Argus writes, checked
by promtool where it is installed, and by a strict structural read everywhere."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from helpers_prometheus import load_yaml, parse_exposition

RULES = REPO / "contrib" / "prometheus" / "argus.rules.yml"
RULE_TESTS = RULES.with_name("argus.rules.test.yml")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing (.ci/run takes it out of Debian's `prometheus` package); "
                             "test_rules_are_well_formed reads the file instead")
DURATION = re.compile(r"[0-9]+(ms|s|m|h|d|w|y)")
NODE_EXPORTER = {"node_textfile_mtime_seconds", "node_textfile_scrape_error"}  # its textfile collector's own


def rules() -> list[dict[str, Any]]:
    document = load_yaml(RULES.read_text())
    assert isinstance(document, dict) and list(document) == ["groups"]
    [group] = document["groups"]
    assert group["name"] == "argus" and list(group) == ["name", "rules"]
    return list(group["rules"])


def test_rules_are_well_formed():
    found = rules()
    names = [rule["alert"] for rule in found]
    assert len(set(names)) == len(names) >= 6
    for rule in found:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"} and rule["expr"], rule
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"]), rule["alert"]
        assert "for" not in rule or DURATION.fullmatch(rule["for"]), rule
        assert rule["labels"]["severity"] in ("critical", "warning"), rule
        assert set(rule["annotations"]) == {"summary", "description"}, rule
        assert rule["expr"].count("(") == rule["expr"].count(")") and rule["expr"].count("{") == rule["expr"].count("}")


def test_rules_name_only_metrics_a_real_textfile_has(argus_env, run_argus, tmp_path):
    """Every argus_* name and label value in the expressions is in the textfile of a real cycle
    (a renamed metric would leave a rule that never fires)."""
    (tmp_path / "textfiles").mkdir()
    env = {**argus_env, "ARGUS_PROMETHEUS_TEXTFILE": str(tmp_path / "textfiles" / "argus.prom")}
    assert run_argus("cycle", "--decider", "rules", env=env).returncode == 0
    families = parse_exposition((tmp_path / "textfiles" / "argus.prom").read_bytes())
    wanted = {"argus_last_cycle_timestamp_seconds", "argus_open_incidents", "argus_llm_degraded",
              "argus_disk_days_to_full", "argus_consecutive_failures"}
    used: set[str] = set()
    for rule in rules():
        for name in re.findall(r"\b((?:argus|node)_[a-z_]+)\b", rule["expr"]):
            used.add(name)
            assert name in families or name in NODE_EXPORTER, (rule["alert"], name)
        for name, value in re.findall(r'\b(severity)="([^"]*)"', rule["expr"]):
            assert value in {labels[name] for labels, _ in families["argus_open_incidents"].samples}
    assert used >= wanted | NODE_EXPORTER


@needs_promtool
def test_promtool_checks_the_rules():
    proc = subprocess.run([str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_promtool
def test_each_alert_fires_when_it_should_and_only_then():
    """contrib/prometheus/argus.rules.test.yml: made-up series through every rule."""
    proc = subprocess.run([str(PROMTOOL), "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent,
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert tested == {rule["alert"] for rule in rules()}


@pytest.mark.parametrize("text", ["groups:\n\t- name: x\n", "groups: [a, b]\n", "a: 1\na: 2\n",
                                  "a: b # c\n", "a:\n  - b: &x 1\n"])
def test_the_yaml_reader_refuses_what_it_does_not_know(text):
    with pytest.raises(AssertionError):
        load_yaml(text)


def test_the_exposition_reader_is_strict():
    good = b'# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 2\n'
    assert parse_exposition(good)["a_total"].value(x="1") == 2
    for bad in (b'a_total 1\n', good + b'a_total{x="1"} 3\n', good.replace(b'"1"', b'"\\t"'),
                good.replace(b" 2\n", b" 2 1700000000\n"), good.replace(b" 2\n", b" two\n"),
                good.replace(b" 2\n", b" -2\n"), good[:-1], good + b"\n", good.replace(b"x=", b"__x="),
                good + b"# HELP b B.\nb 1\n", good.replace(b"{x=\"1\"}", b"{x=\"1\",}")):
        with pytest.raises(AssertionError):
            parse_exposition(bad)


def test_rules_path_is_the_one_the_readme_names():
    assert "contrib/prometheus/argus.rules.yml" in (REPO / "README.md").read_text()
    assert Path(RULES).is_file() and RULE_TESTS.is_file()
