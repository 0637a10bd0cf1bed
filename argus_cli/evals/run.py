"""Running cases through a decider and the guardrails; nothing is executed.

Each case is judged under its own settings over Argus's defaults: never the host's env file or
environment, so a case scores the same on every machine. Only what reaching the LLM needs comes
from the operator's configuration (the key, the base URL, the model, the timeout) and the prompt
file, which ``--prompt`` may replace: that is the point of an eval. The LLM's calls are recorded
in a throw-away state directory (llm.jsonl), not the host's: an eval is not a cycle to replay.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argus_cli.config import Config, ConfigError, load
from argus_cli.decide import cost
from argus_cli.evals.case import Case
from argus_cli.evals.score import Verdict, failed, judge
from argus_cli.evals.vet import vet


@dataclass(frozen=True)
class Reach:
    """What the LLM decider needs from the operator's configuration."""

    api_key: str
    base_url: str
    model: str
    timeout: int
    prompt: Path

    @classmethod
    def of(cls, config: Config, prompt: Path | None) -> Reach:
        return cls(config.anthropic_api_key, config.anthropic_base_url, config.model, config.llm_timeout,
                   prompt or config.prompt_file)


@contextmanager
def scratch() -> Iterator[Path]:
    """A private state directory for the cases' configurations, removed after."""
    path = Path(tempfile.mkdtemp(prefix="argus-eval-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def case_config(case: Case, reach: Reach, state_dir: Path) -> Config:
    env = {**case.settings, "ARGUS_STATE_DIR": str(state_dir), "ARGUS_PROMPT_FILE": str(reach.prompt),
           "ARGUS_MODEL": reach.model, "ARGUS_LLM_TIMEOUT": str(reach.timeout)}
    if reach.api_key:
        env["ANTHROPIC_API_KEY"] = reach.api_key
    if reach.base_url:
        env["ANTHROPIC_BASE_URL"] = reach.base_url
    return load(env, read_env_file=False)


def run_case(case: Case, decider: str, reach: Reach, state_dir: Path) -> Verdict:
    try:
        config = case_config(case, reach, state_dir)
    except ConfigError as exc:
        return failed(case, f"its settings: {exc}")
    if decider == "rules":
        from argus_cli.decide.rules import decide_rules
        decision = decide_rules(case.snapshot, config)
        return judge(case, vet(decision.actions, config, case.snapshot), assessment=decision.assessment)
    from argus_cli.decide.llm import ask_llm
    outcome = ask_llm(config, case.snapshot, list(case.history), {}, now=time.time(), dry_run=True,
                      incidents=case.incidents)
    spent = cost.tokens(outcome.usage)
    if outcome.decision is None:
        verdict = failed(case, outcome.error or "no decision")
    else:
        verdict = judge(case, vet(outcome.decision.actions, config, case.snapshot),
                        assessment=outcome.decision.assessment)
    verdict.llm_calls, (verdict.input_tokens, verdict.output_tokens) = 1, spent
    return verdict


def run_cases(cases: Sequence[Case], decider: str, reach: Reach,
              each: Callable[[Verdict], None] = lambda verdict: None) -> list[Verdict]:
    """Every case's verdict, in order; ``each`` hears of each as it is judged."""
    verdicts = []
    with scratch() as state_dir:
        for case in cases:
            verdict = run_case(case, decider, reach, state_dir)
            each(verdict)
            verdicts.append(verdict)
    return verdicts
