"""`sagecost tags sweep`: existing SageMaker resources reconciled with the tag policy, in bulk.

The bulk view (the Resource Groups Tagging API) only picks the candidates: it is eventually consistent and
omits resources that never had a tag, so a resource it shows without a key may carry that key by now. Before
each AddTags the resource's current tags are read (ListTags) and the additions worked out again from them;
only keys still absent under every accepted spelling are written (`services.tag_writes` says exactly which,
and what race remains between that read and the write).

Requests: one list page per 100 resources of each kind, one Tagging API page per 100 tagged resources, and,
with --apply, one ListTags per resource the bulk view says needs tags plus one AddTags per resource still
missing some. A dry run makes no ListTags: its "would fix" is the bulk view's. No per-resource Describe.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sagecost.domain.tag_policy import TagDecision, creator, evaluate
from sagecost.models.config import PolicyKind, TagPolicy
from sagecost.services.tag_writes import without_present_keys

ReadTags = Callable[[str], dict[str, str] | None]
"""ListTags: a resource's current tags, None if it is gone."""
AddTags = Callable[[str, dict[str, str]], bool]
"""AddTags: False if the resource is gone."""


@dataclass
class TagSweepReport:
    resources: int = 0
    compliant: int = 0
    fixed: int = 0
    would_fix: int = 0
    unresolved: int = 0
    gone: int = 0
    read: int = 0
    """ListTags calls: one before each write."""
    tagged_since_listed: int = 0
    """Resources the bulk view showed without a key that ListTags found on them (their values were kept)."""
    by_kind: Counter[str] = field(default_factory=Counter)
    decisions: list[tuple[str, TagDecision]] = field(default_factory=list)


def decide(kind: PolicyKind, tags: Mapping[str, str], policy: TagPolicy) -> TagDecision:
    """The sweep's decision for a resource with these tags: no creator identity, only Studio's system tag."""
    decision = evaluate(kind, tags, policy, owner=creator(None, tags).owner)
    return without_present_keys(decision, tags, policy)


def sweep_tags(
    resources: Iterable[tuple[PolicyKind, str]],
    tags_by_arn: Mapping[str, dict[str, str]],
    policy: TagPolicy,
    *,
    add_tags: AddTags | None,
    read_tags: ReadTags | None = None,
) -> TagSweepReport:
    """Evaluate every resource; with `add_tags` (--apply), fix what tag mode may fix (report mode: never).

    Nothing is written without `read_tags`: a fix the bulk view suggests is then only counted as `would_fix`.
    """
    report = TagSweepReport()
    write = add_tags if read_tags is not None else None  # never a write without a read just before it
    for kind, arn in resources:
        if policy.mode_for(kind) is None:
            continue
        report.resources += 1
        report.by_kind[kind.value] += 1
        decision = decide(kind, tags_by_arn.get(arn, {}), policy)
        if decision.apply_tags and write is not None and read_tags is not None:
            current = read_tags(arn)
            report.read += 1
            if current is None:
                report.decisions.append((arn, decision))
                report.gone += 1
                continue
            fresh = decide(kind, current, policy)
            if decision.additions.keys() - fresh.additions.keys():
                report.tagged_since_listed += 1
            decision = fresh
        report.decisions.append((arn, decision))
        _count(report, decision, arn, write)
    return report


def _count(report: TagSweepReport, decision: TagDecision, arn: str, write: AddTags | None) -> None:
    if decision.compliant:
        report.compliant += 1
        return
    if decision.unresolved:
        report.unresolved += 1
    if not decision.apply_tags:
        return
    if write is None:
        report.would_fix += 1
    elif write(arn, decision.additions):
        report.fixed += 1
    else:
        report.gone += 1
