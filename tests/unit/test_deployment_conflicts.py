"""`sagecost config push` against the stack's IAM conditions: production values compare as IAM does."""

from __future__ import annotations

from sagecost.domain.deployment import StackConditions, conflicts
from sagecost.models.config import SagecostConfig

KEYS = ("Project", "Team", "CostCenter", "Environment", "Owner")


def config(*production: str) -> SagecostConfig:
    return SagecostConfig.model_validate({"tags": {"production_values": list(production)}})


def test_a_production_value_in_another_case_is_already_protected_by_the_ignore_case_condition() -> None:
    stack = StackConditions(policy_tag_keys=KEYS, production_values=("prod", "production"))
    assert conflicts(config("PROD", "Production"), stack) == []


def test_a_production_value_the_stack_does_not_list_in_any_case_is_refused() -> None:
    stack = StackConditions(policy_tag_keys=KEYS, production_values=("prod", "production"))
    (problem,) = conflicts(config("prod", "Live"), stack)
    assert "Live" in problem and "ProductionEnvironmentValues=prod,production,Live" in problem
