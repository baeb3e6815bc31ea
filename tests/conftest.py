"""Test configuration: hypothesis profiles and a clean default dtype for every test."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygrad_edu

# No deadlines: timing belongs in `make bench`, not in tests. CI draws a few more examples.
# derandomize=False stated: hypothesis derandomizes by itself wherever a CI variable exists.
settings.register_profile(
    "dev",
    max_examples=25,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
# CI draws the same examples every run (derandomize): a submission's result must not depend
# on luck; developers' runs stay random, to keep finding new cases.
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# .ci/run exports CI=true (as CI services do): that value, and only it, picks the fixed profile.
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("true", "1") else "dev")


@pytest.fixture(autouse=True)
def _default_dtype():
    """Every test starts with float32 as the default dtype, whatever the last one set."""
    tinygrad_edu.set_default_dtype(np.float32)
    yield
    tinygrad_edu.set_default_dtype(np.float32)
