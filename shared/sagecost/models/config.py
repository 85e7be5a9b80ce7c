"""The one configuration file (YAML or JSON). This part covers attribution; later parts add policy."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TagKeys(BaseModel):
    """Which tag keys name each business attribute. Matching ignores case, '-', '_', ':' and spaces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: tuple[str, ...] = ("Project",)
    team: tuple[str, ...] = ("Team",)
    cost_center: tuple[str, ...] = ("CostCenter", "cost-centre")
    environment: tuple[str, ...] = ("Environment", "Env", "Stage")
    owner: tuple[str, ...] = ("Owner", "CreatedBy")


class SagecostConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tag_keys: TagKeys = Field(default_factory=TagKeys)
