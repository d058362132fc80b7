"""Fixtures of the grading tests that more than one module uses."""

import pytest

from tests.grading import pgserver


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of the tests' own (tests/grading/pgserver.py), stopped by its pid at the end."""
    server = pgserver.Server().start()
    yield server
    server.remove()
