"""The deployed-on-moto stack, for any end-to-end test that needs what `sam deploy` would create."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from tests.e2e.deployed import (
    TOOLS_PYTHON_VARIABLE,
    DeployedStack,
    deploy,
    pause_event_sources,
    tools_python,
    translate,
)


@pytest.fixture(scope="session")
def translated_template() -> dict[str, Any]:
    """template.yaml through the Serverless transform (once per session: the translator takes ~1 s)."""
    if not tools_python().is_file():
        if os.environ.get(
            TOOLS_PYTHON_VARIABLE
        ):  # `make test` and `make deploy-check` set it: never skip there
            pytest.fail(f"{TOOLS_PYTHON_VARIABLE}={tools_python()} does not exist")
        pytest.skip(
            f"no tools virtualenv at {tools_python()} (aws-sam-translator): `make deploy-check` creates it, "
            "or set SAGECOST_TOOLS_PYTHON to an interpreter that has aws-sam-translator"
        )
    return translate()


@pytest.fixture
def deployed_stack(translated_template: dict[str, Any]) -> Iterator[DeployedStack]:
    """A fresh stack on moto (in-process) for each test: outputs, physical ids, each function's environment.

    Its SQS event source mappings are paused (see `pause_event_sources`): tests hand queue messages to
    the handlers themselves, with `stack.use(function, monkeypatch)` giving the process that function's
    deployed environment.
    """
    with mock_aws(config={"lambda": {"use_docker": False}}):
        stack = deploy(translated_template)
        pause_event_sources()
        yield stack
