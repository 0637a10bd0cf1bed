"""Argus: an LLM-guided, rules-backed watchdog for one Linux server."""

__version__ = "0.1.0"
