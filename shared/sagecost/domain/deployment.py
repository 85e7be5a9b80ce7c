"""What a deployed stack's IAM conditions allow, against what a config asks for. Pure.

template.yaml writes two facts of the tag policy into IAM, as stack parameters: `PolicyTagKeys` (the only
keys the enforcer and the tag sweep may add: an `aws:TagKeys` condition) and `ProductionEnvironmentValues`
(stop and delete calls are refused on resources whose `Environment` tag has one of them, in any case: a
`StringNotEqualsIgnoreCase` condition on `aws:ResourceTag/Environment`). The warning tag of idle shutdown
is fixed in the template. A config that contradicts them would be refused by IAM at the worst moment, or,
for production values, would leave production protected by the code alone: `sagecost config push` refuses
it and says what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sagecost.models.config import SagecostConfig

IAM_ENVIRONMENT_KEY = "Environment"
"""The tag key the template's stop/delete conditions read (`aws:ResourceTag/Environment`)."""
IAM_WARNING_TAG = "sagecost:idle-warning"
"""The only key the idle reaper's role may add or remove (`aws:TagKeys`)."""


@dataclass(frozen=True)
class StackConditions:
    """The IAM-relevant parameters a stack was deployed with."""

    policy_tag_keys: tuple[str, ...]
    production_values: tuple[str, ...]


def conflicts(config: SagecostConfig, stack: StackConditions) -> list[str]:
    """Each way the config contradicts the stack's IAM conditions, with what to change; [] when none."""
    problems: list[str] = []
    policy = config.tags
    missing = [key for key in policy.primary_keys().values() if key not in stack.policy_tag_keys]
    if missing:
        wanted = _joined([*stack.policy_tag_keys, *missing])
        problems.append(
            f"the tag policy writes {_joined(missing)}, which the stack's PolicyTagKeys "
            f"({_joined(stack.policy_tag_keys)}) does not allow (IAM would refuse the AddTags): redeploy "
            f"with `sam deploy --parameter-overrides PolicyTagKeys={wanted}`, or use those keys in tags.*.key"
        )
    if policy.environment.key != IAM_ENVIRONMENT_KEY:
        problems.append(
            f"tags.environment.key is {policy.environment.key!r}, but the stack's stop and delete "
            f"conditions read the {IAM_ENVIRONMENT_KEY!r} tag (IAM would refuse every stop): set "
            f"`environment: {{key: {IAM_ENVIRONMENT_KEY}, aliases: [{policy.environment.key}]}}`"
        )
    protected = {value.lower() for value in stack.production_values}  # IAM compares them ignoring case
    unprotected = [value for value in policy.production_values if value.lower() not in protected]
    if unprotected:
        wanted = _joined([*stack.production_values, *unprotected])
        problems.append(
            f"the config treats {_joined(unprotected)} as production, but the stack's "
            f"ProductionEnvironmentValues ({_joined(stack.production_values)}) does not (IAM would not "
            f"protect them): redeploy with `sam deploy --parameter-overrides "
            f"ProductionEnvironmentValues={wanted}`"
        )
    if config.idle.warning_tag != IAM_WARNING_TAG:
        problems.append(
            f"idle.warning_tag is {config.idle.warning_tag!r}, but the stack lets the idle reaper write only "
            f"{IAM_WARNING_TAG!r}: remove idle.warning_tag from the config"
        )
    return problems


def _joined(values: Sequence[str]) -> str:
    return ",".join(values)
