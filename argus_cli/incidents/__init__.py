"""Incidents (ARCHITECTURE.md §8): stable subjects, a lifecycle per fingerprint, notifications by
transition and outcome checks of the actions taken on them."""
