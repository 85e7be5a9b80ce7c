"""`sagecost doctor`: read-only checks of what sagecost needs in an account and a user forgets.

Each check is a small function over `AccountReads` that returns one `Finding`: ok, a problem with the
exact command or console step that fixes it, or skipped (a check it depends on failed). An AWS error
(no credentials, no region, access denied, ...) is a problem with its fix too, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Final, Protocol

from pydantic import ValidationError

from sagecost.adapters.account import (
    AwsReadError,
    CallerIdentity,
    FailureKind,
    FieldSelector,
    PricedLine,
    QueueDepth,
    TrailSetup,
)
from sagecost.adapters.parameters import problems_of
from sagecost.adapters.stacks import Stack
from sagecost.domain.deployment import conflicts
from sagecost.models.config import SagecostConfig
from sagecost.models.prices import PriceCatalog

SAGEMAKER_EVENT_SOURCE: Final = "sagemaker.amazonaws.com"
PENDING_CONFIRMATION: Final = "PendingConfirmation"
NO_REGION_FIX: Final = "pass --region REGION (or set AWS_REGION, or a region in the profile)"


class Outcome(StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    """One check's answer: what was found and, for a problem, what fixes it."""

    check: str
    outcome: Outcome
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    findings: tuple[Finding, ...]

    @property
    def healthy(self) -> bool:
        return all(finding.outcome is not Outcome.PROBLEM for finding in self.findings)


class AccountReads(Protocol):
    @property
    def region(self) -> str | None: ...

    def caller(self) -> CallerIdentity: ...

    def trails(self) -> list[TrailSetup]: ...

    def cost_allocation_tag_status(self, keys: Sequence[str]) -> dict[str, str]: ...

    def probe_cost_explorer(self, today: date) -> None: ...

    def stack(self, name: str) -> Stack | None: ...

    def subscription_arns(self, topic_arn: str) -> list[str]: ...

    def parameter(self, name: str) -> str | None: ...

    def queue_depth(self, queue_url: str) -> QueueDepth: ...

    def priced_lines(self, table: str, month: str) -> tuple[set[PricedLine], int]: ...


def ok(check: str, detail: str) -> Finding:
    return Finding(check, Outcome.OK, detail)


def problem(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, Outcome.PROBLEM, detail, fix)


def skipped(check: str, detail: str) -> Finding:
    return Finding(check, Outcome.SKIPPED, detail)


# --- AWS errors as problems ------------------------------------------------------------------------------


def aws_error_fix(error: AwsReadError) -> str:
    """The fix for a read that failed before it could answer."""
    if error.kind is FailureKind.NO_CREDENTIALS:
        return (
            "configure AWS credentials: `aws configure`, `aws sso login --profile NAME` or AWS_PROFILE=NAME"
        )
    if error.kind is FailureKind.NO_REGION:
        return NO_REGION_FIX
    if error.kind is FailureKind.ACCESS_DENIED:
        return f"allow the IAM action {error.action} to the caller"
    if error.kind is FailureKind.UNREACHABLE:
        return "check the network, and AWS_ENDPOINT_URL if it is set"
    return f"act on AWS's answer to {error.action} and run `sagecost doctor` again"


def _as_problem(check: str, error: AwsReadError) -> Finding:
    return problem(check, f"{error.action} failed: {error.message}", aws_error_fix(error))


def guarded(check: str, run: Callable[[], Finding]) -> Finding:
    """`run()`, with an AWS read error reported as this check's problem."""
    try:
        return run()
    except AwsReadError as error:
        return _as_problem(check, error)


# --- account checks --------------------------------------------------------------------------------------


def check_aws_access(reads: AccountReads) -> Finding:
    """Credentials that work (sts:GetCallerIdentity needs no permission) and a region to check."""
    identity = reads.caller()
    region = reads.region
    if region is None:
        return problem(
            "aws-access",
            f"account {identity.account} as {identity.arn}, but no AWS region",
            NO_REGION_FIX,
        )
    return ok("aws-access", f"account {identity.account} as {identity.arn}, region {region}")


def _field(fields: Sequence[FieldSelector], name: str) -> FieldSelector | None:
    return next((field for field in fields if field.field == name), None)


def _excludes_writes(read_only: FieldSelector | None) -> bool:
    """`readOnly` Equals `true` keeps only reads (NotEquals `false` says the same); absent, both are kept."""
    if read_only is None:
        return False
    if read_only.equals:
        return "false" not in read_only.equals
    return "false" in read_only.not_equals


def _advanced_selector_logs_sagemaker_writes(fields: Sequence[FieldSelector]) -> bool:
    category = _field(fields, "eventCategory")
    if category is None or "Management" not in category.equals:
        return False
    if _excludes_writes(_field(fields, "readOnly")):
        return False
    source = _field(fields, "eventSource")
    return source is None or (
        SAGEMAKER_EVENT_SOURCE not in source.not_equals
        and (not source.equals or SAGEMAKER_EVENT_SOURCE in source.equals)
    )


def logs_management_writes(trail: TrailSetup) -> bool:
    """Whether the trail's selectors record SageMaker's write management events (`Create*`, `Delete*`):
    EventBridge gets `AWS API Call via CloudTrail` events only for what a trail records."""
    if trail.advanced_event_selectors:
        return any(_advanced_selector_logs_sagemaker_writes(s) for s in trail.advanced_event_selectors)
    return any(
        selector.include_management_events and selector.read_write_type in {"All", "WriteOnly"}
        for selector in trail.event_selectors
    )


def _trail_label(trail: TrailSetup) -> str:
    scope = "multi-region" if trail.is_multi_region else "single-region"
    return f"{trail.name} ({scope}, home {trail.home_region})"


def check_cloudtrail(reads: AccountReads) -> Finding:
    region = reads.region
    trails = reads.trails()
    working = [t for t in trails if t.is_logging and logs_management_writes(t)]
    if working:
        return ok("cloudtrail", f"trail {_trail_label(working[0])} logs management events in {region}")
    consequence = (
        "no `AWS API Call via CloudTrail` events reach EventBridge: no create-time tagging, no pre-flight"
    )
    stopped = next((t for t in trails if logs_management_writes(t)), None)
    if stopped is not None:
        return problem(
            "cloudtrail",
            f"trail {_trail_label(stopped)} is not logging: {consequence}",
            f"aws cloudtrail start-logging --name {stopped.arn} --region {stopped.home_region}",
        )
    if trails:
        names = ", ".join(_trail_label(t) for t in trails)
        first = trails[0]
        return problem(
            "cloudtrail",
            f"no trail records write management events in {region} ({names}): {consequence}",
            f"aws cloudtrail put-event-selectors --trail-name {first.arn} --region {first.home_region} "
            """--event-selectors '[{"ReadWriteType": "All", "IncludeManagementEvents": true}]' """
            "(this replaces the trail's selectors: list its data-event selectors too)",
        )
    return problem(
        "cloudtrail",
        f"no CloudTrail trail logs {region}: {consequence}",
        "aws cloudtrail create-trail --name sagecost --s3-bucket-name BUCKET --is-multi-region-trail "
        "&& aws cloudtrail start-logging --name sagecost (BUCKET needs the CloudTrail bucket policy; "
        "the console's CloudTrail > Create trail makes the bucket and its policy)",
    )


def check_cost_allocation_tags(reads: AccountReads, config: SagecostConfig, origin: str) -> Finding:
    keys = sorted(set(config.tags.primary_keys().values()))
    statuses = reads.cost_allocation_tag_status(keys)
    inactive = [key for key in keys if statuses.get(key) == "Inactive"]
    unseen = [key for key in keys if key not in statuses]
    if not inactive and not unseen:
        return ok("cost-allocation-tags", f"active: {', '.join(keys)} ({origin})")
    details = [f"{', '.join(inactive)} inactive"] if inactive else []
    if unseen:
        details.append(
            f"{', '.join(unseen)} never seen by billing "
            "(tag a resource with it, wait up to 24 h, then activate)"
        )
    activate = " ".join(f"TagKey={key},Status=Active" for key in (*inactive, *unseen))
    return problem(
        "cost-allocation-tags",
        f"not active as cost allocation tags ({origin}): {'; '.join(details)}; "
        "Cost Explorer and the bill cannot group by them",
        f"aws ce update-cost-allocation-tags-status --cost-allocation-tags-status {activate}",
    )


def check_cost_explorer(reads: AccountReads, today: date) -> Finding:
    try:
        reads.probe_cost_explorer(today)
    except AwsReadError as error:
        if error.code == "DataUnavailableException" or "not enabled" in error.message.lower():
            return problem(
                "cost-explorer",
                f"Cost Explorer is not enabled for this account ({error.message})",
                "Billing and Cost Management console > Cost Explorer > Launch Cost Explorer "
                "(data appears within 24 h)",
            )
        raise
    return ok(
        "cost-explorer", "GetCostAndUsage answers (us-east-1); month-end reconciliation can read the bill"
    )


# --- stack checks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRole:
    """A stack queue that must stay empty: its output, what waits in it, and how to empty it."""

    output: str
    check: str
    holds: str
    redrive: str
    """The fix after inspection; `{url}` and `{arn}` are the queue's."""


_INSPECT: Final = (
    "inspect: aws sqs receive-message --queue-url {url} --max-number-of-messages 10 --visibility-timeout 0 "
    "--attribute-names All --message-attribute-names All"
)
_MOVE_BACK: Final = "aws sqs start-message-move-task --source-arn {arn}"

QUEUE_ROLES: Final = (
    QueueRole(
        "UsageDeadLetterQueueUrl",
        "usage-dlq",
        "usage events the recorder gave up on",
        f"then redrive them to the usage queue (recording is idempotent): {_MOVE_BACK}",
    ),
    QueueRole(
        "EventDeliveryDeadLetterQueueUrl",
        "event-delivery-dlq",
        "events EventBridge could not deliver (ERROR_MESSAGE says why)",
        "then fix the cause (usually a queue policy) and send each body to the queue its TARGET_ARN "
        "attribute names (aws sqs send-message --queue-url TARGET_QUEUE_URL --message-body BODY), then "
        "delete it (SQS redrive moves only DLQs of SQS queues)",
    ),
    QueueRole(
        "ScheduleDeadLetterQueueUrl",
        "schedule-dlq",
        "scheduled runs EventBridge Scheduler could not make",
        "then fix the cause, run each missed job again (aws lambda invoke --function-name FUNCTION "
        "--payload BODY out.json), then aws sqs purge-queue --queue-url {url}",
    ),
    QueueRole(
        "TagDeadLetterQueueUrl",
        "tag-dlq",
        "tag policy messages the enforcer gave up on",
        f"then redrive them to the tag queue: {_MOVE_BACK}",
    ),
    QueueRole(
        "BudgetStreamFailureQueueUrl",
        "budget-stream-failures",
        "ledger stream batches the budget alerter failed on (their alerts were not sent)",
        "then fix the cause in the budget alerter's logs and aws sqs purge-queue --queue-url {url} "
        "(stream records are kept 24 h; older batches cannot be replayed)",
    ),
)

TOPIC_OUTPUTS: Final = (("AlertsTopicArn", "alerts-topic"), ("ReportsTopicArn", "reports-topic"))


def redeploy_fix(stack: str) -> str:
    return f"deploy the current template: sam build && sam deploy --stack-name {stack}"


def config_push_fix(stack: str) -> str:
    return f"sagecost config push FILE --stack {stack}"


def prices_push_fix(stack: str) -> str:
    return f"sagecost prices push FILE --stack {stack}"


def _missing_output(check: str, stack: Stack, output: str, then: str | None = None) -> Finding:
    fix = redeploy_fix(stack.name) + (f", then {then}" if then else "")
    return problem(check, f"stack {stack.name} has no output {output}", fix)


def check_topic(reads: AccountReads, stack: Stack, output: str, check: str) -> Finding:
    topic = stack.outputs.get(output)
    if topic is None:
        return _missing_output(check, stack, output)
    subscriptions = reads.subscription_arns(topic)
    confirmed = [arn for arn in subscriptions if arn.startswith("arn:")]
    pending = sum(1 for arn in subscriptions if arn == PENDING_CONFIRMATION)
    if confirmed:
        return ok(check, f"{topic}: {len(confirmed)} confirmed subscription(s), {pending} pending")
    subscribe = (
        f"aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint YOU@EXAMPLE.COM "
        "and confirm the email"
    )
    if pending:
        return problem(
            check,
            f"{topic}: no confirmed subscription, {pending} pending confirmation: "
            "nobody receives what it sends",
            "open the confirmation email of each pending endpoint (links expire after 3 days), "
            f"or {subscribe}",
        )
    return problem(check, f"{topic}: no subscription: nobody receives what it sends", subscribe)


def read_stack_config(reads: AccountReads, stack: Stack) -> tuple[Finding, SagecostConfig | None]:
    """The stack's config parameter, validated as the functions read it (`{}` is the defaults) and held
    against the IAM conditions the stack was deployed with, as `sagecost config push` does."""
    check, push = "config", config_push_fix(stack.name)
    name = stack.outputs.get("ConfigParameterName")
    if name is None:
        return _missing_output(check, stack, "ConfigParameterName", then=push), None
    text = reads.parameter(name)
    if text is None:
        return problem(check, f"no SSM parameter {name}: the functions have no config", push), None
    try:
        config = SagecostConfig.model_validate_json(text or "{}")
    except ValidationError as error:
        detail = f"SSM parameter {name} is not a valid sagecost config: {problems_of(error)}"
        return problem(check, detail, f"fix the file (`sagecost config validate FILE`), then {push}"), None
    contradictions = conflicts(config, stack.conditions())
    if contradictions:
        detail = f"SSM parameter {name} contradicts the stack's IAM conditions: {'; '.join(contradictions)}"
        return problem(check, detail, f"change the config or redeploy as said, then {push}"), config
    shape = "the defaults" if config == SagecostConfig() else f"{len(config.budgets.limits)} budget(s)"
    return ok(check, f"SSM parameter {name} holds a valid config ({shape})"), config


def check_queue(reads: AccountReads, stack: Stack, role: QueueRole) -> Finding:
    url = stack.outputs.get(role.output)
    if url is None:
        return _missing_output(role.check, stack, role.output)
    depth = reads.queue_depth(url)
    if depth.messages == 0:
        return ok(role.check, f"empty ({url})")
    inspect = _INSPECT.format(url=url)
    return problem(
        role.check,
        f"{depth.messages} message(s) waiting: {role.holds} ({url})",
        f"{inspect}; {role.redrive.format(url=url, arn=depth.arn)}",
    )


def missing_prices(needed: set[PricedLine], catalog: PriceCatalog) -> list[PricedLine]:
    """The lines `catalog` (the packaged one with the override applied) has no price for."""
    known = {price.key for price in catalog.prices}
    return sorted(
        (line for line in needed if (line.region, line.component, line.instance_type) not in known),
        key=lambda line: (line.region, line.component.value, line.instance_type),
    )


def read_price_override(
    reads: AccountReads, stack: Stack, parameter: str
) -> tuple[PriceCatalog | None, Finding | None]:
    """The override in the prices parameter (None for `{}`), or the problem that stops the check."""
    push = prices_push_fix(stack.name)
    text = reads.parameter(parameter)
    if text is None:
        return None, problem(
            "prices",
            f"no SSM parameter {parameter} (`{{}}` means no price override)",
            f"{push} (or aws ssm put-parameter --name {parameter} --type String --value '{{}}')",
        )
    try:
        if not text.strip() or json.loads(text) == {}:
            return None, None
        return PriceCatalog.model_validate_json(text), None
    except ValidationError as error:
        why = f"is not a price catalog: {problems_of(error)}"
    except ValueError as error:
        why = f"is not JSON: {error}"
    return None, problem("prices", f"SSM parameter {parameter} {why}", push)


def check_prices(reads: AccountReads, stack: Stack, catalog: PriceCatalog, month: str) -> Finding:
    check = "prices"
    table, parameter = stack.outputs.get("LedgerTableName"), stack.outputs.get("PricesParameterName")
    if table is None:
        return _missing_output(check, stack, "LedgerTableName")
    if parameter is None:
        return _missing_output(check, stack, "PricesParameterName", then=prices_push_fix(stack.name))
    override, unusable = read_price_override(reads, stack, parameter)
    if unusable is not None:
        return unusable
    needed, unreadable = reads.priced_lines(table, month)
    unpriced = missing_prices(needed, catalog if override is None else catalog.with_override(override))
    source = "the packaged catalog" + (
        f" and the override's {len(override.prices)} prices" if override else ""
    )
    if unpriced:
        listed = ", ".join(f"{line.region} {line.component.value} {line.instance_type}" for line in unpriced)
        return problem(
            check,
            f"no price in {source} for {len(unpriced)} instance type(s) seen in {month} "
            f"(region, component, type): {listed}; their usage is metered as unpriced",
            f"sagecost prices refresh --region {unpriced[0].region} --out prices.json (or add the rates to a "
            f"catalog file), then sagecost prices push prices.json --stack {stack.name}",
        )
    note = f"; {unreadable} unreadable ledger line(s) ignored" if unreadable else ""
    return ok(
        check,
        f"all {len(needed)} instance type(s) seen in {month} (by region and component) have a price "
        f"in {source}{note}",
    )


# --- the whole run ---------------------------------------------------------------------------------------

ACCOUNT_CHECKS: Final = ("cloudtrail", "cost-allocation-tags", "cost-explorer")
STACK_CHECKS: Final = (
    *(check for _, check in TOPIC_OUTPUTS),
    "config",
    *(role.check for role in QUEUE_ROLES),
    "prices",
)


def read_stack(reads: AccountReads, name: str) -> Stack | Finding:
    """The stack, or the problem that keeps its checks from running."""
    try:
        stack = reads.stack(name)
    except AwsReadError as error:
        return _as_problem("stack", error)
    if stack is None:
        return problem(
            "stack",
            f"no stack {name} in {reads.region}",
            f"check the name and --region, or deploy it: sam build && sam deploy --stack-name {name}",
        )
    return stack


def _stack_findings(
    reads: AccountReads, name: str, catalog: PriceCatalog, month: str
) -> tuple[list[Finding], SagecostConfig | None]:
    stack = read_stack(reads, name)
    if isinstance(stack, Finding):
        return [stack, *(skipped(check, f"needs stack {name}") for check in STACK_CHECKS)], None
    findings = [ok("stack", f"{name} in {reads.region}")]
    for output, check in TOPIC_OUTPUTS:
        findings.append(guarded(check, partial(check_topic, reads, stack, output, check)))
    config: SagecostConfig | None = None
    try:
        config_finding, config = read_stack_config(reads, stack)
    except AwsReadError as error:
        config_finding = _as_problem("config", error)
    findings.append(config_finding)
    for role in QUEUE_ROLES:
        findings.append(guarded(role.check, partial(check_queue, reads, stack, role)))
    findings.append(guarded("prices", partial(check_prices, reads, stack, catalog, month)))
    return findings, config


def run_doctor(
    reads: AccountReads, *, today: date, catalog: PriceCatalog, stack: str | None = None
) -> DoctorReport:
    """Every check, in the order they are printed. The tag keys are the stack's config's when it has a
    valid one, else the default policy's."""
    access = guarded("aws-access", lambda: check_aws_access(reads))
    if access.outcome is Outcome.PROBLEM:
        later = (*ACCOUNT_CHECKS, *(("stack", *STACK_CHECKS) if stack else ()))
        return DoctorReport((access, *(skipped(check, "needs AWS access") for check in later)))
    stack_findings: list[Finding] = []
    config: SagecostConfig | None = None
    if stack is not None:
        stack_findings, config = _stack_findings(reads, stack, catalog, today.strftime("%Y-%m"))
    origin = "tag keys of the stack's config" if config else "tag keys of the default policy"
    account = [
        guarded("cloudtrail", lambda: check_cloudtrail(reads)),
        guarded(
            "cost-allocation-tags",
            lambda: check_cost_allocation_tags(reads, config or SagecostConfig(), origin),
        ),
        guarded("cost-explorer", lambda: check_cost_explorer(reads, today)),
    ]
    return DoctorReport((access, *account, *stack_findings))
