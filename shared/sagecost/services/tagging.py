"""The tag enforcer's use cases: a resource was created (CloudTrail or its first state change), or its
grace period is over. Policy decisions are the domain's; this module reads, tags, stops, records, tells.

No tag value is overwritten: the tags in a creation event are those given at creation, and someone may have
tagged the resource since. Before AddTags the enforcer reads the resource's current tags (ListTags), decides
again from them, and adds only keys absent under every spelling the policy accepts (`services.tag_writes`).
The race left: a value set between that ListTags and the AddTags (the ledger claim is made in between; for
a pipeline step's job, whose tags are read first, the parent's ListTags too) under the very key sagecost
writes is overwritten; SageMaker has no conditional AddTags to close it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from aws_lambda_powertools import Logger
from pydantic import TypeAdapter, ValidationError

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.notifier import Notice, Notifier
from sagecost.adapters.sagemaker import SageMakerReader, SageMakerTagger
from sagecost.domain.tag_policy import TagDecision, creator, evaluate
from sagecost.domain.tags import snapshot
from sagecost.models.config import PolicyKind, SagecostConfig, TagPolicy
from sagecost.models.events import (
    EndpointEvent,
    InvalidEvent,
    NotebookInstanceEvent,
    SageMakerEvent,
    TrainingJobEvent,
    UtcDatetime,
    parse_event,
    read_json,
)
from sagecost.models.tagging import CloudTrailCall, JobSpec, PipelineStep, Recheck, job_spec_from_request
from sagecost.services.tag_writes import without_present_keys

_TIME: TypeAdapter[datetime] = TypeAdapter(UtcDatetime)

CREATION_STATUSES = frozenset({"InProgress", "CREATING", "Pending"})
"""The first state of each kind: the enforcer acts at creation, not on every later change."""
CLAIM_LEASE = timedelta(minutes=5)
"""How long a creation claim left behind holds: longer than the enforcer runs (60 s), shorter than the tag
queue's visibility timeout (360 s), after which SQS retries the message."""

logger = Logger(service="sagecost")


class TagOutcome(StrEnum):
    OUT_OF_SCOPE = "out-of-scope"
    COMPLIANT = "compliant"
    TAGGED = "tagged"
    REPORTED = "reported"
    ALREADY_HANDLED = "already-handled"
    GONE = "gone"
    STOPPED = "stopped"
    RECHECK_SCHEDULED = "recheck-scheduled"
    NOT_CREATION = "not-a-creation"


@dataclass
class TagResult:
    outcome: TagOutcome
    arn: str = ""
    decision: TagDecision | None = None
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class Created:
    """A resource at its creation, with what the event says about it."""

    kind: PolicyKind
    arn: str
    tags: dict[str, str] | None
    """None: the event does not say (a pipeline step): read them."""
    owner: str | None
    parent_arn: str | None
    at: datetime
    job: JobSpec | None = None
    """For a training, processing or transform job: its instances and runtime limit (pre-flight)."""

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


def _parent_from_request(call: CloudTrailCall, kind: PolicyKind, arn: str) -> str | None:
    """The resource a new one inherits from: an endpoint's config, a config's (first) model."""
    parameters = call.request_parameters or {}
    prefix = arn.split(f":{kind.value}/", 1)[0]
    if kind is PolicyKind.ENDPOINT and parameters.get("endpointConfigName"):
        return f"{prefix}:endpoint-config/{str(parameters['endpointConfigName']).lower()}"
    variants = parameters.get("productionVariants") or []
    if kind is PolicyKind.ENDPOINT_CONFIG and variants and isinstance(variants[0], dict):
        model = variants[0].get("modelName")
        return f"{prefix}:model/{str(model).lower()}" if model else None
    return _issue12_parent(kind, prefix, parameters)


def _issue12_parent(kind: PolicyKind, prefix: str, parameters: dict[str, object]) -> str | None:
    """A component inherits from the endpoint it runs on, a private space from its owner's user profile.
    (Not from the domain: its tags are Studio's to propagate, and reading them would take one more IAM
    resource type for little: a user profile and a shared space inherit nothing.)"""
    if kind is PolicyKind.INFERENCE_COMPONENT and parameters.get("endpointName"):
        return f"{prefix}:endpoint/{str(parameters['endpointName']).lower()}"
    ownership = parameters.get("ownershipSettings")
    owner = ownership.get("ownerUserProfileName") if isinstance(ownership, dict) else None
    if kind is PolicyKind.SPACE and parameters.get("domainId") and owner:
        return f"{prefix}:user-profile/{parameters['domainId']}/{owner}"
    return None


def _studio_parent(tags: dict[str, str]) -> str | None:
    """Resources launched from Studio inherit their user profile's (or space's) tags."""
    return tags.get("sagemaker:user-profile-arn") or tags.get("sagemaker:space-arn")


def created_by_call(call: CloudTrailCall) -> Created | None:
    resource = call.created
    if resource is None:
        return None
    kind, arn = resource
    tags = call.request_tags
    job = job_spec_from_request(call.request_parameters or {}) if kind in JOB_KINDS else None
    return Created(
        kind,
        arn,
        tags,
        creator(call.user_identity, tags).owner,
        _parent_from_request(call, kind, arn) or _studio_parent(tags),
        call.event_time,
        job,
    )


def created_by_state_change(event: SageMakerEvent) -> Created | None:
    """A creation-time state change (no identity in it: only Studio's system tag names a person)."""
    first = _first_state(event)
    if first is None:
        return None
    kind, arn, parent = first
    tags = event.detail.tags or {}
    parent = parent or _studio_parent(tags)
    at = getattr(event.detail, "last_modified_time", None) or event.time
    return Created(kind, arn, tags, creator(None, tags).owner, parent, at, _training_spec(event))


def _training_spec(event: SageMakerEvent) -> JobSpec | None:
    if not isinstance(event, TrainingJobEvent) or event.detail.resource_config is None:
        return None
    config = event.detail.resource_config
    groups = config.instance_groups
    instance_type = config.instance_type or (groups[0].instance_type if groups else None)
    if instance_type is None:
        return None
    count = (
        sum(g.instance_count for g in groups)
        if groups and not config.instance_type
        else config.instance_count
    )
    stopping = event.detail.stopping_condition
    return JobSpec(instance_type, count, stopping.max_runtime_in_seconds if stopping else None)


JOB_KINDS = frozenset({PolicyKind.TRAINING_JOB, PolicyKind.PROCESSING_JOB, PolicyKind.TRANSFORM_JOB})


PIPELINE_STEP = "SageMaker Model Building Pipeline Execution Step Status Change"


def created_by_pipeline_step(step: PipelineStep, time: object) -> Created | None:
    """A job a pipeline step launched: it inherits the pipeline's tags (its own are read with ListTags)."""
    job = step.job
    if job is None or step.current_step_status not in {"Starting", "Executing"}:
        return None
    kind, arn = job
    at = step.step_start_time or _TIME.validate_python(time)
    return Created(kind, arn, None, None, step.pipeline_arn, at)


def _first_state(event: SageMakerEvent) -> tuple[PolicyKind, str, str | None] | None:
    """(kind, ARN, parent ARN) of an event that announces a creation. Processing and transform events
    carry no tags or final ones, and configs no status: those are governed at their CloudTrail call."""
    if isinstance(event, TrainingJobEvent) and event.detail.training_job_status in CREATION_STATUSES:
        return PolicyKind.TRAINING_JOB, event.detail.training_job_arn, event.detail.tuning_job_arn
    if isinstance(event, EndpointEvent) and event.detail.endpoint_status == "CREATING":
        endpoint = event.detail
        config = endpoint.endpoint_config_name
        prefix = endpoint.endpoint_arn.split(":endpoint/", 1)[0]
        return (
            PolicyKind.ENDPOINT,
            endpoint.endpoint_arn,
            f"{prefix}:endpoint-config/{config.lower()}" if config else None,
        )
    if isinstance(event, NotebookInstanceEvent):
        notebook = event.detail
        if (
            notebook.notebook_instance_status == "Pending"
            and notebook.creation_time == notebook.last_modified_time
        ):
            return PolicyKind.NOTEBOOK_INSTANCE, notebook.notebook_instance_arn, None
    return None


class SageMakerForTags(SageMakerReader, SageMakerTagger, Protocol):
    """Reads and the two writes, as one adapter."""


class TagEnforcer:
    def __init__(
        self,
        ledger: DynamoLedger,
        sagemaker: SageMakerForTags,
        notifier: Notifier,
        config: SagecostConfig,
        schedule_recheck: Callable[[Recheck, int], None],
        on_tagged: Callable[[str, dict[str, str], datetime], object] | None = None,
    ) -> None:
        self.on_tagged = on_tagged
        self.ledger = ledger
        self.sagemaker = sagemaker
        self.notifier = notifier
        self.policy = config.tags
        self.schedule_recheck = schedule_recheck

    def handle(self, message: Created | Recheck | None, now: datetime) -> TagResult:
        if isinstance(message, Recheck):
            return self.on_recheck(message, now)
        return self.on_creation(message, now)

    def on_creation(self, created: Created | None, now: datetime) -> TagResult:
        if created is None:
            return TagResult(TagOutcome.NOT_CREATION)
        if self.policy.mode_for(created.kind) is None:
            return TagResult(TagOutcome.OUT_OF_SCOPE, created.arn)
        tags_are_current = created.tags is None  # none in the event: read now, so current
        if created.tags is None:
            current = self.sagemaker.tags(created.arn)
            if current is None:
                return TagResult(TagOutcome.GONE, created.arn)
            created = replace(created, tags=current)
        inherited = self.sagemaker.tags(created.parent_arn) if created.parent_arn else None
        decision = self._decide(created, created.tags or {}, inherited)
        if decision.apply_tags and not tags_are_current:
            # the event's tags are as they were at creation and AddTags overwrites: decide from today's
            redecided = self._redecide(created, decision, inherited)
            if redecided is None:
                return TagResult(TagOutcome.GONE, created.arn)
            created, decision = redecided
        if decision.compliant:
            return TagResult(TagOutcome.COMPLIANT, created.arn, decision)
        return self._act(created, decision, now)

    def _redecide(
        self, created: Created, first: TagDecision, inherited: dict[str, str] | None
    ) -> tuple[Created, TagDecision] | None:
        """The decision again, from the resource's tags as ListTags reads them now (None: it is gone).

        If every key `first` would add already holds exactly that value, that is the one AddTags of an
        earlier attempt at this message (a later step failed and SQS retried): those keys are decided as
        absent again, so that the owner is told, and rewritten with the same values, which changes nothing.
        Some keys only (Environment=dev, the default) are someone's own tags: kept, never claimed.
        """
        current = self.sagemaker.tags(created.arn)
        if current is None:
            return None
        earlier = first.additions
        if any(current.get(key) != value for key, value in earlier.items()):
            earlier = {}
        created = replace(created, tags=current)
        before = {key: value for key, value in current.items() if key not in earlier}
        return created, self._decide(created, before, inherited)

    def _decide(
        self, created: Created, tags: dict[str, str], inherited: dict[str, str] | None
    ) -> TagDecision:
        """The policy's decision from these tags, adding nothing the resource's tags already have a value
        for (any spelling, even blank) unless it is that very value."""
        decision = evaluate(
            created.kind,
            tags,
            self.policy,
            owner=created.owner,
            inherited=inherited,
            inherited_from=created.parent_arn.rsplit(":", 1)[-1].replace("/", " ")
            if created.parent_arn
            else "",
        )
        return without_present_keys(decision, created.tags or {}, self.policy)

    def _act(self, created: Created, decision: TagDecision, now: datetime) -> TagResult:
        """Tag (or report), tell the owner, and plan the recheck, exactly once per resource.

        Claim first: one creation-time action per resource, whichever of its creation events (the Create*
        call, its first state, their redeliveries) gets here first. If anything below fails, the claim
        is released, so that SQS's retry does the whole thing again; if even that fails, the claim expires
        (`CLAIM_LEASE`, shorter than the tag queue's visibility timeout) before the retry comes.
        """
        result = TagResult(TagOutcome.ALREADY_HANDLED, created.arn, decision)
        details = {**_details(created, decision), "outcome": "tagged" if decision.apply_tags else "reported"}
        if not self.ledger.claim_action(created.arn, "creation", created.at, details, now, now + CLAIM_LEASE):
            return result
        try:
            if decision.apply_tags and not self.sagemaker.add_tags(created.arn, decision.additions):
                self.ledger.release_action(created.arn, "creation")
                result.outcome = TagOutcome.GONE  # deleted before the enforcer reached it: nothing to tag
                return result
            if decision.apply_tags and self.on_tagged is not None:
                # usage already metered (a short job's end can arrive before its start) moves to the tags
                self.on_tagged(created.arn, decision.additions, created.at)
            notice = _notice(created, decision, self.policy)
            self.notifier.publish(notice)
            if decision.stop:
                due = created.at + timedelta(minutes=self.policy.grace_period_minutes)
                self.schedule_recheck(
                    Recheck(arn=created.arn, kind=created.kind, due=due, owner=created.owner),
                    _delay(now, due),
                )
        except Exception:
            try:
                self.ledger.release_action(created.arn, "creation")
            except Exception:  # the claim's lease runs out by itself: SQS's retry comes after it
                logger.exception("creation claim not given back", extra={"arn": created.arn})
            raise
        try:
            self.ledger.confirm_action(created.arn, "creation", created.at, details)
        except Exception:  # done and told: a retry would tell twice
            logger.exception("creation action not confirmed", extra={"arn": created.arn})
        result.notices.append(notice)
        result.outcome = TagOutcome.TAGGED if decision.apply_tags else TagOutcome.REPORTED
        return result

    def on_recheck(self, recheck: Recheck, now: datetime) -> TagResult:
        """The grace period is over (or not yet: wait on). Stop the job if it is still non-compliant."""
        if now < recheck.due:
            self.schedule_recheck(recheck, _delay(now, recheck.due))
            return TagResult(TagOutcome.RECHECK_SCHEDULED, recheck.arn)
        tags = self.sagemaker.tags(recheck.arn)
        if tags is None:
            return TagResult(TagOutcome.GONE, recheck.arn)
        decision = without_present_keys(
            evaluate(recheck.kind, tags, self.policy, owner=recheck.owner), tags, self.policy
        )
        created = Created(recheck.kind, recheck.arn, tags, recheck.owner, None, now)
        result = TagResult(TagOutcome.COMPLIANT, recheck.arn, decision)
        if not decision.stop:
            return result
        if not self.sagemaker.stop_job(recheck.kind.value, created.name):
            result.outcome = TagOutcome.GONE
            return result
        if self.ledger.record_action(recheck.arn, "stopped", now, _details(created, decision)):
            notice = _stop_notice(created, decision, self.policy)
            self.notifier.publish(notice)
            result.notices.append(notice)
        result.outcome = TagOutcome.STOPPED
        return result


def _delay(now: datetime, due: datetime) -> int:
    """SQS delays a message by at most 15 minutes: longer waits take several hops."""
    return max(0, min(900, int((due - now).total_seconds())))


def _details(created: Created, decision: TagDecision) -> dict[str, object]:
    return {
        "kind": created.kind.value,
        "owner": created.owner,
        "mode": decision.mode.value if decision.mode else None,
        "added": decision.additions if decision.apply_tags else {},
        "would_add": {} if decision.apply_tags else decision.additions,
        "problems": [
            f"{f.key}: {f.problem}" + (f" ({f.value})" if f.value else "") for f in decision.unresolved
        ],
        "environment": decision.environment,
    }


def _project(created: Created, decision: TagDecision, policy: TagPolicy) -> str:
    """The project the resource is attributed to once the additions are made (any accepted spelling)."""
    return snapshot({**(created.tags or {}), **decision.additions}, policy.keys).project or ""


def _notice(created: Created, decision: TagDecision, policy: TagPolicy) -> Notice:
    rules = policy.rules()
    grace_minutes = policy.grace_period_minutes
    lines = [
        f"The SageMaker {created.kind.value} {created.name} was created without the tags the policy asks for."
    ]
    if decision.apply_tags:
        lines.append("sagecost added:")
        lines += [
            f"  {key} = {value}   ({decision.sources[key]})" for key, value in decision.additions.items()
        ]
    elif decision.additions:
        lines.append("sagecost would add (report mode, nothing was changed):")
        lines += [
            f"  {key} = {value}   ({decision.sources[key]})" for key, value in decision.additions.items()
        ]
    if decision.unresolved:
        lines.append("Still to fix by hand:")
        lines += [f"  - {finding.sentence(rules[finding.attribute])}" for finding in decision.unresolved]
        lines.append(
            f"Fix it with: aws sagemaker add-tags --resource-arn {created.arn} --tags Key=...,Value=..."
        )
        if decision.stop:
            lines.append(f"This job will be stopped in {grace_minutes} minutes unless its tags are fixed.")
    subject = f"sagecost: {created.kind.value} {created.name} " + (
        "tagged" if decision.apply_tags else "is missing tags"
    )
    return Notice(
        subject=subject,
        body="\n".join(lines),
        attributes={
            "kind": "tag-policy",
            "project": _project(created, decision, policy),
            "owner": created.owner or "",
            "resource_kind": created.kind.value,
        },
    )


def _stop_notice(created: Created, decision: TagDecision, policy: TagPolicy) -> Notice:
    problems = "\n".join(f"  - {finding.key}: {finding.problem}" for finding in decision.unresolved)
    body = (
        f"sagecost stopped the SageMaker {created.kind.value} {created.name}: its tags still break the "
        f"policy after the grace period, and it is not production.\n{problems}\n"
        "Fix the tags and start it again; production jobs are never stopped."
    )
    return Notice(
        subject=f"sagecost: stopped {created.kind.value} {created.name} (tags)",
        body=body,
        attributes={
            "kind": "tag-policy-stop",
            "project": _project(created, decision, policy),
            "owner": created.owner or "",
            "resource_kind": created.kind.value,
        },
    )


def read_tag_message(body: str) -> Created | Recheck | None:
    """What a message on the tag queue asks for: a creation to check, or a recheck. None: not a creation.

    Raises InvalidEvent (with a reason) for anything that is not one of those.
    """
    raw = read_json(body)
    if not isinstance(raw, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(raw).__name__}")
    try:
        if raw.get("sagecost") == "recheck":
            return Recheck.model_validate(raw)
        if raw.get("detail-type") == "AWS API Call via CloudTrail":
            return created_by_call(CloudTrailCall.model_validate(raw.get("detail")))
        if raw.get("detail-type") == PIPELINE_STEP:
            return created_by_pipeline_step(PipelineStep.model_validate(raw.get("detail")), raw.get("time"))
    except RecursionError:
        raise InvalidEvent(f"{raw.get('detail-type') or 'recheck'}: nested too deeply to read") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in issue['loc']) or 'detail'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise InvalidEvent(f"{raw.get('detail-type') or 'recheck'}: {problems}") from None
    return created_by_state_change(parse_event(raw))
