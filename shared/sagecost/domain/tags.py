"""From a resource's raw tags to the business attribution the ledger carries."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from sagecost.models.config import TagKeys
from sagecost.models.ledger import TagSnapshot

SYSTEM_TAG_PREFIXES = ("aws:", "sagemaker:")
_SEPARATORS = re.compile(r"[\s_\-:.]")

TAG_KEY_MAX_CHARACTERS = 128
TAG_VALUE_MAX_CHARACTERS = 256
_TAG_SYMBOLS = frozenset("_.:/=+-@")
_TAG_CATEGORIES = frozenset("LZN")  # Unicode letters, separators (spaces), numbers


def forbidden_tag(key: str, value: str) -> str | None:
    """Why SageMaker would refuse this tag, or None when it accepts it.

    SageMaker's `Tag` (API reference): a key of 1 to 128 characters, a value of 0 to 256, both matching
    `^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$` (letters, spaces and numbers of any script, and `_.:/=+-@`).
    Lengths are counted in code points (fewer than UTF-16 units or bytes), so nothing SageMaker accepts is
    refused here. Keys starting `aws:` are not refused: people cannot set them, but AWS adds them itself
    (`aws:cloudformation:stack-name`), so resources and their events legitimately carry them.
    """
    if not 1 <= len(key) <= TAG_KEY_MAX_CHARACTERS:
        return f"tag key is {len(key)} characters long: SageMaker allows 1 to {TAG_KEY_MAX_CHARACTERS}"
    if len(value) > TAG_VALUE_MAX_CHARACTERS:
        return (
            f"tag {key!r} has a value {len(value)} characters long: "
            f"SageMaker allows up to {TAG_VALUE_MAX_CHARACTERS}"
        )
    for part, text in (("key", key), ("value", value)):
        character = next((c for c in text if not _tag_character(c)), None)
        if character is not None:
            return (
                f"tag {key!r} has {character!r} (U+{ord(character):04X}) in its {part}: SageMaker allows "
                "letters, spaces, numbers and _.:/=+-@ only"
            )
    return None


def _tag_character(character: str) -> bool:
    return character in _TAG_SYMBOLS or unicodedata.category(character)[0] in _TAG_CATEGORIES


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
