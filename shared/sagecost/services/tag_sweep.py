"""`sagecost tags sweep`: existing SageMaker resources reconciled with the tag policy, in bulk.

Requests: one list page per 100 resources of each kind, one Tagging API page per 100 tagged resources,
and one AddTags per resource it fixes (with --apply). No per-resource Describe or ListTags.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sagecost.domain.tag_policy import TagDecision, creator, evaluate
from sagecost.models.config import PolicyKind, TagPolicy


@dataclass
class TagSweepReport:
    resources: int = 0
    compliant: int = 0
    fixed: int = 0
    would_fix: int = 0
    unresolved: int = 0
    gone: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    decisions: list[tuple[str, TagDecision]] = field(default_factory=list)


def sweep_tags(
    resources: Iterable[tuple[PolicyKind, str]],
    tags_by_arn: dict[str, dict[str, str]],
    policy: TagPolicy,
    *,
    add_tags: Callable[[str, dict[str, str]], bool] | None,
) -> TagSweepReport:
    """Evaluate every resource; with `add_tags` (--apply), fix what tag mode may fix (report mode: never)."""
    report = TagSweepReport()
    for kind, arn in resources:
        if policy.mode_for(kind) is None:
            continue
        tags = tags_by_arn.get(arn, {})
        decision = evaluate(kind, tags, policy, owner=creator(None, tags).owner)
        report.resources += 1
        report.by_kind[kind.value] += 1
        report.decisions.append((arn, decision))
        if decision.compliant:
            report.compliant += 1
            continue
        if decision.unresolved:
            report.unresolved += 1
        if not decision.apply_tags:
            continue
        if add_tags is None:
            report.would_fix += 1
        elif add_tags(arn, decision.additions):
            report.fixed += 1
        else:
            report.gone += 1
    return report
