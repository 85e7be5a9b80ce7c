"""The tag policy applied to one resource: what is missing or wrong, what to add, whether to stop it.

Pure: the resource's tags, the tags it inherits (tuning job, endpoint config, Studio profile ...), and the
creator's identity come in as arguments; a TagDecision comes out. Existing values are never overwritten:
`tag` mode adds only missing keys, never more than SageMaker's 50 tags, never an `aws:`/`sagemaker:` key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sagecost.domain.tags import business_tags, normalise_key
from sagecost.models.config import STOPPABLE_KINDS, KeyRule, Mode, PolicyKind, TagPolicy

MAX_TAGS_PER_RESOURCE = 50
"""SageMaker's limit; AddTags beyond it fails, and so would a tuning job's children."""

IdentitySource = Literal[
    "studio-user-profile",
    "source-identity",
    "identity-center",
    "iam-user",
    "assumed-role",
    "root",
    "aws-service",
    "unknown",
]


@dataclass(frozen=True)
class Creator:
    """Who created a resource, as a short name fit for an Owner tag."""

    owner: str | None
    source: IdentitySource


def _last_segment(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def creator(user_identity: Mapping[str, Any] | None, tags: Mapping[str, str] | None = None) -> Creator:
    """The person behind a CloudTrail `userIdentity` (or a Studio resource's system tags).

    Studio calls are made by a shared execution role, so its `sagemaker:user-profile-arn` tag (or the
    session's `sourceIdentity`, with ExecutionRoleIdentityConfig=USER_PROFILE_NAME) names the person;
    IAM Identity Center sessions carry the user name as the role session name.
    """
    profile_arn = (tags or {}).get("sagemaker:user-profile-arn")
    if profile_arn:
        return Creator(_last_segment(profile_arn), "studio-user-profile")
    identity = dict(user_identity or {})
    source_identity = (identity.get("sessionContext") or {}).get("sourceIdentity")
    if source_identity:
        return Creator(str(source_identity), "source-identity")
    return _by_identity_type(identity)


def _by_identity_type(identity: Mapping[str, Any]) -> Creator:
    kind = identity.get("type")
    arn = str(identity.get("arn") or "")
    if kind == "IAMUser":
        return Creator(str(identity.get("userName") or _last_segment(arn)), "iam-user")
    if kind == "AssumedRole":
        role, _, session_name = arn.partition(":assumed-role/")[2].partition("/")
        if not session_name:
            return Creator(None, "unknown")
        return Creator(
            session_name, "identity-center" if role.startswith("AWSReservedSSO_") else "assumed-role"
        )
    fixed = {"Root": Creator("root", "root"), "AWSService": Creator(None, "aws-service")}
    return fixed.get(str(kind), Creator(None, "unknown"))


Problem = Literal["missing", "invalid"]


@dataclass(frozen=True)
class TagFinding:
    attribute: str
    key: str
    problem: Problem
    value: str | None = None

    def sentence(self, rule: KeyRule) -> str:
        if self.problem == "missing":
            return f"it has no {self.key} tag"
        allowed = (
            f"one of {', '.join(rule.allowed)}" if rule.allowed else f"matching {' or '.join(rule.patterns)}"
        )
        return f"its {self.key} tag is {self.value!r}, which is not {allowed}"


@dataclass(frozen=True)
class TagDecision:
    kind: PolicyKind
    mode: Mode | None
    """None: the policy does not govern this kind."""
    findings: tuple[TagFinding, ...]
    """What is wrong as the resource stands."""
    additions: dict[str, str] = field(default_factory=dict)
    """The missing keys the policy can fill (inherited, the creator, a default)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Where each addition's value came from: inherited from X, the creator, the policy default."""
    over_limit: tuple[str, ...] = ()
    """Additions left out so the resource stays within SageMaker's 50 tags."""
    unresolved: tuple[TagFinding, ...] = ()
    """What stays wrong even after the additions."""
    environment: str | None = None
    """The environment the resource is in once the additions are applied (None: unknown)."""
    production: bool = False

    @property
    def compliant(self) -> bool:
        return not self.findings

    @property
    def apply_tags(self) -> bool:
        return self.mode in (Mode.TAG, Mode.ENFORCE) and bool(self.additions)

    @property
    def stop(self) -> bool:
        """Enforce mode, once the grace period is over: a job that stays non-compliant and is known not to
        be production (an unknown environment is treated as production: never stopped)."""
        return (
            self.mode is Mode.ENFORCE
            and self.kind in STOPPABLE_KINDS
            and self.environment is not None
            and not self.production
            and bool(self.unresolved)
        )


def _find(tags: Mapping[str, str], rule: KeyRule) -> tuple[str, str] | None:
    by_key = {normalise_key(k): (k, v) for k, v in tags.items()}
    for key in (rule.key, *rule.aliases):
        found = by_key.get(normalise_key(key))
        if found and found[1].strip():
            return found
    return None


def evaluate(
    kind: PolicyKind,
    tags: Mapping[str, str],
    policy: TagPolicy,
    *,
    owner: str | None = None,
    inherited: Mapping[str, str] | None = None,
    inherited_from: str = "its parent",
) -> TagDecision:
    """Check a resource against the policy and work out the additions that would fix it."""
    mode = policy.mode_for(kind)
    own = business_tags(tags)
    parent = business_tags(inherited or {})
    findings: list[TagFinding] = []
    unresolved: list[TagFinding] = []
    additions: dict[str, str] = {}
    sources: dict[str, str] = {}
    resolved: dict[str, str] = {}
    for attribute, rule in policy.rules().items():
        present = _find(own, rule)
        if present is not None:
            value = rule.normalise(present[1])
            resolved[attribute] = value
            if not rule.accepts(value):
                finding = TagFinding(attribute, present[0], "invalid", present[1])
                findings.append(finding)
                unresolved.append(finding)
            continue
        if not rule.required and rule.default is None:
            continue
        findings.append(TagFinding(attribute, rule.key, "missing"))
        candidates: list[tuple[str | None, str]] = []
        from_parent = _find(parent, rule)
        if from_parent is not None:
            candidates.append((from_parent[1], f"inherited from {inherited_from}"))
        if attribute == "owner":
            candidates.append((owner, "the creator's identity"))
        candidates.append((rule.default, "the policy default"))
        chosen = next(
            (
                (rule.normalise(v), source)
                for v, source in candidates
                if v and rule.accepts(rule.normalise(v))
            ),
            None,
        )
        if chosen is None:
            if rule.required:
                unresolved.append(TagFinding(attribute, rule.key, "missing"))
            continue
        additions[rule.key], sources[rule.key] = chosen
        resolved[attribute] = chosen[0]
    room = MAX_TAGS_PER_RESOURCE - len(tags)
    kept = dict(list(additions.items())[: max(room, 0)])
    over_limit = tuple(key for key in additions if key not in kept)
    for key in over_limit:
        attribute = next(a for a, r in policy.rules().items() if r.key == key)
        unresolved.append(TagFinding(attribute, key, "missing"))
    return TagDecision(
        kind=kind,
        mode=mode,
        findings=tuple(findings),
        additions=kept,
        sources={k: v for k, v in sources.items() if k in kept},
        over_limit=over_limit,
        unresolved=tuple(unresolved),
        environment=resolved.get("environment"),
        production=policy.is_production(resolved.get("environment")),
    )
