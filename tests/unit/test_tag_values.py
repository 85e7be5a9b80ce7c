"""Tag values as their key's rule spells them: in attribution (`snapshot`) and in the config's own values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from sagecost.domain.tags import snapshot
from sagecost.models.config import KeyRule, SagecostConfig, TagPolicy

POLICY = TagPolicy(
    project=KeyRule(key="Project", aliases=("proj",), case="lower"),
    cost_center=KeyRule(key="CostCenter", case="upper"),
)


def test_snapshot_normalises_each_value_by_its_keys_rule_and_leaves_keep_rules_alone() -> None:
    tags = {
        "proj": " Fraud-Detection ",
        "Team": "Risk",
        "cost_center": "cc-0001",
        "Env": "DEV",
        "Owner": "Alice",
    }
    attribution = snapshot(tags, POLICY.keys)
    assert attribution.project == "fraud-detection"  # alias key, case lower
    assert attribution.team == "Risk"  # case keep (the default)
    assert attribution.cost_center == "CC-0001"  # case upper
    assert attribution.environment == "dev"  # the default environment rule folds to lower
    assert attribution.owner == "Alice"
    assert tags["proj"] == " Fraud-Detection "  # the tags themselves are only read


def test_two_spellings_give_one_snapshot() -> None:
    assert snapshot({"Project": "Fraud-Detection"}, POLICY.keys) == snapshot(
        {"project": "fraud-detection"}, POLICY.keys
    )


def test_the_config_spells_budgets_and_allocation_values_as_the_tag_policy_does() -> None:
    # Given the config file as a person writes it (YAML parsed to plain values)
    config = SagecostConfig.model_validate(
        {
            "tags": {"project": {"key": "Project", "case": "lower"}},
            "budgets": {
                "limits": [{"project": "Fraud-Detection", "monthly": "100"}, {"team": "Risk", "monthly": 5}]
            },
            "allocation": {
                "shared_projects": ["Platform"],
                "environment_multipliers": {"PROD": "2"},
            },
        }
    )
    project, team = config.budgets.limits
    assert (project.project, project.name) == ("fraud-detection", "project:fraud-detection")
    assert team.team == "Risk"  # the team rule keeps case
    assert config.allocation.shared_projects == ("platform",)
    assert config.allocation.environment_multipliers == {"prod": Decimal(2)}
    assert SagecostConfig.model_validate(config.model_dump()) == config  # normalising twice changes nothing


def test_two_budgets_for_two_spellings_of_one_project_are_refused() -> None:
    with pytest.raises(ValidationError, match="one budget per project"):
        SagecostConfig.model_validate(
            {
                "tags": {"project": {"key": "Project", "case": "lower"}},
                "budgets": {
                    "limits": [{"project": "Fraud", "monthly": 1}, {"project": "fraud", "monthly": 2}]
                },
            }
        )


def test_fixed_weights_for_two_spellings_of_one_project_are_refused() -> None:
    with pytest.raises(ValidationError, match="weights names 'a' twice"):
        SagecostConfig.model_validate(
            {
                "tags": {"project": {"key": "Project", "case": "lower"}},
                "allocation": {"split": "fixed", "weights": {"A": 1, "a": 2}},
            }
        )
