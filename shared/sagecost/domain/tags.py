"""From a resource's raw tags to the business attribution the ledger carries."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sagecost.models.config import TagKeys
from sagecost.models.ledger import TagSnapshot

SYSTEM_TAG_PREFIXES = ("aws:", "sagemaker:")
_SEPARATORS = re.compile(r"[\s_\-:.]")


def normalise_key(key: str) -> str:
    """`Cost-Center`, `cost_center` and `COSTCENTER` are the same key."""
    return _SEPARATORS.sub("", key).lower()


def business_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags a person set: `aws:` and `sagemaker:` system tags removed."""
    return {k: v for k, v in tags.items() if not k.lower().startswith(SYSTEM_TAG_PREFIXES)}


def snapshot(tags: Mapping[str, str] | None, keys: TagKeys) -> TagSnapshot:
    """Pick project, team, cost center, environment and owner out of a resource's tags, each value as its
    key's rule spells it (`Fraud-Detection` and `fraud-detection` are one project under `case: lower`).
    The resource's own tags are only read, never rewritten."""
    by_key = {normalise_key(k): v.strip() for k, v in business_tags(tags or {}).items() if v.strip()}

    def first(attribute: str, aliases: tuple[str, ...]) -> str | None:
        for alias in aliases:
            value = by_key.get(normalise_key(alias))
            if value:
                return keys.value(attribute, value)
        return None

    return TagSnapshot(
        project=first("project", keys.project),
        team=first("team", keys.team),
        cost_center=first("cost_center", keys.cost_center),
        environment=first("environment", keys.environment),
        owner=first("owner", keys.owner),
    )
