"""``argus eval``: how good a decider is, measured on cases kept as data (case.py), judged by the
guardrails without the host (vet.py) and scored (score.py); run.py runs them."""
