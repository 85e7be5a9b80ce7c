"""The one configuration file (YAML or JSON): the tag policy, and what later parts add.

```yaml
tags:
  project:     {key: Project, aliases: [proj], patterns: ["^[a-z][a-z0-9-]{2,40}$"], case: lower}
  team:        {key: Team, allowed: [risk, growth, supply, platform]}
  cost_center: {key: CostCenter, patterns: ["^cc-[0-9]{4}$"], default: cc-0000}
  environment: {key: Environment, allowed: [dev, test, staging, prod], case: lower, default: dev}
  owner:       {key: Owner}
  production_values: [prod, production]
  default_mode: report
  modes: {training-job: tag, processing-job: tag, notebook-instance: enforce}
  grace_period_minutes: 30
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sagecost.models.allocation import AllocationPolicy
from sagecost.models.budgets import BudgetPolicy
from sagecost.models.idle import IdlePolicy


class Mode(StrEnum):
    """What the tag enforcer does about a non-compliant resource."""

    REPORT = "report"  # record and notify only
    TAG = "tag"  # add the missing keys (defaults, inherited values, the creator as owner)
    ENFORCE = "enforce"  # tag, and after the grace period stop what is still non-compliant (never production)


class PolicyKind(StrEnum):
    """SageMaker resource kinds the tag policy can govern (the resource type in their ARNs)."""

    TRAINING_JOB = "training-job"
    PROCESSING_JOB = "processing-job"
    TRANSFORM_JOB = "transform-job"
    TUNING_JOB = "hyper-parameter-tuning-job"
    ENDPOINT = "endpoint"
    ENDPOINT_CONFIG = "endpoint-config"
    MODEL = "model"
    NOTEBOOK_INSTANCE = "notebook-instance"
    # issue 12: Studio, inference components, HyperPod, MLflow. Studio apps are governed through the
    # space or user profile that launches them: SageMaker adds a user profile's (or domain's) tags to
    # every app it launches after they are set, never to apps already running (AddTags API reference;
    # TagPropagation, https://docs.aws.amazon.com/sagemaker/latest/dg/custom-tags.html), and metering
    # attributes an app's usage to its space's or user profile's tags. Tagging each short-lived app
    # would fix one app's records and none of the next ones'.
    SPACE = "space"
    USER_PROFILE = "user-profile"
    INFERENCE_COMPONENT = "inference-component"
    HYPERPOD_CLUSTER = "cluster"
    MLFLOW_TRACKING_SERVER = "mlflow-tracking-server"


STOPPABLE_KINDS = frozenset({PolicyKind.TRAINING_JOB, PolicyKind.PROCESSING_JOB, PolicyKind.TRANSFORM_JOB})


Case = Literal["keep", "lower", "upper"]
"""How a tag's values are normalised: as written, or folded to one case."""


def normalise_value(value: str, case: Case) -> str:
    """A tag value as its key's rule spells it: stripped, and folded to the rule's case."""
    value = value.strip()
    if case == "lower":
        return value.lower()
    if case == "upper":
        return value.upper()
    return value


class KeyRule(BaseModel):
    """One business tag: its canonical key, the spellings accepted for it, and what its value may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=128, description="the key written when sagecost adds the tag")
    aliases: tuple[str, ...] = Field(default=(), description="other keys read as this one (case-insensitive)")
    required: bool = True
    allowed: tuple[str, ...] = Field(default=(), description="the only values accepted (after `case`)")
    patterns: tuple[str, ...] = Field(default=(), description="regular expressions a value must match (any)")
    case: Case = Field(default="keep", description="how values are normalised")
    default: str | None = Field(default=None, description="the value `tag` mode adds when the key is missing")

    @field_validator("key", "aliases")
    @classmethod
    def _no_system_keys(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        for key in (value,) if isinstance(value, str) else value:
            if key.lower().startswith(("aws:", "sagemaker:")):
                raise ValueError(
                    f"{key!r} is a system tag key: AWS and SageMaker own the aws: and sagemaker: prefixes"
                )
        return value

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{pattern!r} is not a regular expression: {error}") from None
        return patterns

    @model_validator(mode="after")
    def _default_is_valid(self) -> KeyRule:
        if self.default is not None and not self.accepts(self.normalise(self.default)):
            raise ValueError(f"the default {self.default!r} is not an allowed value of {self.key}")
        return self

    def normalise(self, value: str) -> str:
        return normalise_value(value, self.case)

    def accepts(self, value: str) -> bool:
        if not value:
            return False
        if self.allowed and value not in self.allowed:
            return False
        return not self.patterns or any(re.fullmatch(pattern, value) for pattern in self.patterns)


class TagKeys(BaseModel):
    """Which tag keys name each business attribute (matching ignores case, '-', '_', ':' and spaces), and
    how each attribute's values are normalised (`cases`: the key rule's `case`; absent means keep)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: tuple[str, ...] = ("Project",)
    team: tuple[str, ...] = ("Team",)
    cost_center: tuple[str, ...] = ("CostCenter", "cost-centre")
    environment: tuple[str, ...] = ("Environment", "Env", "Stage")
    owner: tuple[str, ...] = ("Owner", "CreatedBy")
    cases: Mapping[str, Case] = Field(default_factory=dict)

    def value(self, attribute: str, raw: str) -> str:
        """`raw` as the attribute's rule spells it (`Fraud-Detection` is `fraud-detection` under lower)."""
        return normalise_value(raw, self.cases.get(attribute, "keep"))


class TagPolicy(BaseModel):
    """Required business tags, their values, and what to do per resource kind when they are wrong."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: KeyRule = KeyRule(key="Project")
    team: KeyRule = KeyRule(key="Team")
    cost_center: KeyRule = KeyRule(key="CostCenter", aliases=("cost-centre",))
    environment: KeyRule = KeyRule(
        key="Environment", aliases=("Env", "Stage"), allowed=("dev", "test", "staging", "prod"), case="lower"
    )
    owner: KeyRule = KeyRule(key="Owner", aliases=("CreatedBy",))
    production_values: tuple[str, ...] = Field(
        default=("prod", "production"), description="environment values that mean production (never stopped)"
    )
    scope: tuple[PolicyKind, ...] = Field(
        default=tuple(PolicyKind),
        description="resource kinds governed (default: all, the issue-12 kinds included, in `default_mode`)",
    )
    default_mode: Mode = Mode.REPORT
    modes: dict[PolicyKind, Mode] = Field(default_factory=dict, description="a mode per resource kind")
    grace_period_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _consistent(self) -> TagPolicy:
        seen: dict[str, str] = {}
        for attribute, rule in self.rules().items():
            for key in (rule.key, *rule.aliases):
                folded = re.sub(r"[\s_\-:.]", "", key).lower()
                if folded in seen and seen[folded] != attribute:
                    raise ValueError(f"the key {key!r} is claimed by both {seen[folded]} and {attribute}")
                seen[folded] = attribute
        for kind, mode in self.modes.items():
            if mode is Mode.ENFORCE and kind not in STOPPABLE_KINDS:
                raise ValueError(
                    f"{kind}: enforce stops jobs; only training, processing and transform jobs can be stopped"
                )
        return self

    def rules(self) -> dict[str, KeyRule]:
        return {
            "project": self.project,
            "team": self.team,
            "cost_center": self.cost_center,
            "environment": self.environment,
            "owner": self.owner,
        }

    def mode_for(self, kind: PolicyKind) -> Mode | None:
        """The mode for a kind, or None when the policy does not govern it."""
        if kind not in self.scope:
            return None
        return self.modes.get(kind, self.default_mode)

    def is_production(self, environment: str | None) -> bool:
        return environment is not None and self.environment.normalise(environment) in {
            self.environment.normalise(v) for v in self.production_values
        }

    def primary_keys(self) -> dict[str, str]:
        """The tag key each business attribute is written under (`project` -> `Project`)."""
        return {attribute: rule.key for attribute, rule in self.rules().items()}

    @property
    def keys(self) -> TagKeys:
        rules = self.rules()
        return TagKeys(
            **{attribute: (rule.key, *rule.aliases) for attribute, rule in rules.items()},
            cases={attribute: rule.case for attribute, rule in rules.items() if rule.case != "keep"},
        )


class SagecostConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tags: TagPolicy = Field(default_factory=TagPolicy)
    allocation: AllocationPolicy = Field(default_factory=AllocationPolicy)
    budgets: BudgetPolicy = Field(default_factory=BudgetPolicy)
    idle: IdlePolicy = Field(default_factory=IdlePolicy)

    @model_validator(mode="before")
    @classmethod
    def _values_as_the_tag_policy_spells_them(cls, data: Any) -> Any:
        """Budgets and allocation name projects, teams, cost centers and environments as the tag policy
        normalises their values, so that `project: Fraud-Detection` under `case: lower` is the budget of
        the usage tagged `fraud-detection` (and of `FRAUD-DETECTION`): one project everywhere.

        Before validation, so the sections are validated (duplicates included) as normalised; a section
        that does not validate is left as it is, for the ordinary validation to report."""
        if not isinstance(data, dict):
            return data
        try:
            rules = TagPolicy.model_validate(data.get("tags") or {}).rules()
            budgets = BudgetPolicy.model_validate(data.get("budgets") or {}).model_dump()
            allocation = AllocationPolicy.model_validate(data.get("allocation") or {}).model_dump()
        except ValidationError:
            return data
        budgets["limits"] = [
            {
                **limit,
                **{
                    attribute: rules[attribute].normalise(limit[attribute])
                    for attribute in ("project", "team", "cost_center")
                    if limit[attribute] is not None
                },
            }
            for limit in budgets["limits"]
        ]
        allocation["shared_projects"] = tuple(
            dict.fromkeys(rules["project"].normalise(p) for p in allocation["shared_projects"])
        )
        allocation["weights"] = _normalised_keys(allocation["weights"], rules["project"], "weights")
        allocation["environment_multipliers"] = _normalised_keys(
            allocation["environment_multipliers"], rules["environment"], "environment_multipliers"
        )
        return {
            **data,
            **({"budgets": budgets} if "budgets" in data else {}),
            **({"allocation": allocation} if "allocation" in data else {}),
        }

    @property
    def tag_keys(self) -> TagKeys:
        return self.tags.keys


def _normalised_keys(values: Mapping[str, Decimal], rule: KeyRule, name: str) -> dict[str, Decimal]:
    """A per-value setting keyed as the rule spells values; two spellings of one value are ambiguous."""
    normalised: dict[str, Decimal] = {}
    for raw, setting in values.items():
        value = rule.normalise(raw)
        if value in normalised:
            raise ValueError(f"{name} names {value!r} twice (as {rule.key} values are spelled)")
        normalised[value] = setting
    return normalised
