"""Operator controls: autonomy, approvals, silences and maintenance windows."""
