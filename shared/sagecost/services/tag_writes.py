"""Policy tags added without overwriting any value: decided from tags read just before the write.

SageMaker `AddTags` adds *or overwrites*, and what sagecost first knows of a resource's tags can be out of
date: the Resource Groups Tagging API is eventually consistent (and lists only resources that have or had
tags), and a creation event carries the tags given at creation. So the tag sweep and the tag enforcer read a
resource's tags with `ListTags` right before every `AddTags`, make the policy decision again from them, and
write only the keys that are absent under every spelling the policy accepts for them: the key and its
aliases, with case, spaces, `-`, `_`, `:` and `.` ignored. A key present with a blank value counts as
present (writing the policy's value over it would still overwrite it): it is left for a person to fix.
Nothing is written when nothing is left to add; a resource that is gone by the read or the write is `gone`.

What remains: SageMaker has no conditional AddTags, so a value set between our ListTags and our AddTags
(milliseconds apart; the enforcer records its claim in the ledger in between) under exactly the key sagecost
writes is overwritten by the policy's value; set under an alias, it ends up next to sagecost's key instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sagecost.domain.tag_policy import TagDecision, TagFinding
from sagecost.domain.tags import normalise_key
from sagecost.models.config import TagPolicy


def without_present_keys(decision: TagDecision, tags: Mapping[str, str], policy: TagPolicy) -> TagDecision:
    """The decision, adding only keys none of whose accepted spellings is on the resource (blank or not), or
    that already hold exactly the value to add (writing it again changes nothing).

    `evaluate` treats a blank value as missing and would fill it in; such keys are dropped from the additions
    and stay unresolved (and a dropped Environment leaves the environment unknown: never stopped).
    """
    additions = decision.additions
    spellings_present = {normalise_key(key) for key in tags}
    blocked = {
        attribute: rule.key
        for attribute, rule in policy.rules().items()
        if rule.key in additions
        and tags.get(rule.key) != additions[rule.key]
        and any(normalise_key(key) in spellings_present for key in (rule.key, *rule.aliases))
    }
    if not blocked:
        return decision
    environment = None if "environment" in blocked else decision.environment
    return replace(
        decision,
        additions={k: v for k, v in decision.additions.items() if k not in blocked.values()},
        sources={k: v for k, v in decision.sources.items() if k not in blocked.values()},
        unresolved=(
            *decision.unresolved,
            *(TagFinding(attribute, key, "missing") for attribute, key in blocked.items()),
        ),
        environment=environment,
        production=policy.is_production(environment),
    )
