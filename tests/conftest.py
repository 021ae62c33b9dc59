"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import os

from hypothesis import settings

# Deterministic property tests: the same examples on every run and machine.
settings.register_profile("default", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("long", derandomize=False, deadline=None, max_examples=20_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
