"""A SageMaker that knows exactly what the replayed events say, for the simulator.

moto cannot play SageMaker here: it has no state transitions, no billable time, and knows nothing of
resources that only exist in a recorded event stream. This fake learns every resource from the events
as they are delivered and answers the reads sagecost makes consistently with them:

* DescribeTrainingJob: `BillableTimeInSeconds` from a terminal event that carries it (as
  DescribeTrainingJob would have returned it), otherwise end - start; `ResourceConfig` from the events,
  or from the CreateTrainingJob call (CloudTrail) when the events lack it;
* DescribeTransformJob: `TransformResources` and the start and end times from the transform events,
  the resources from the CreateTransformJob call when the events lack them;
* DescribeEndpointConfig / DescribeEndpoint / ListEndpoints: from Endpoint Config and Endpoint events;
* ListNotebookInstances / DescribeNotebookInstance: from notebook events (`VolumeSizeInGB` if carried);
* ListTags: the newest tags any event (or a CloudTrail Create* call) showed for the resource.

The state of a resource is the one with the newest LastModifiedTime, as it is in SageMaker itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sagecost import clock
from sagecost.adapters.sagemaker import (
    EndpointSummary,
    NotebookSummary,
    config_snapshot,
    warm_pool_of,
)
from sagecost.domain.kinds.training import TrainingBilling
from sagecost.domain.kinds.warm_pool import FINAL_STATUSES, WarmPool
from sagecost.domain.metering import JobFigures, instance_lines, transform_lines
from sagecost.domain.periods import seconds_between
from sagecost.local import events
from sagecost.models.config import PolicyKind
from sagecost.models.events import METERED_DETAIL_TYPES, InvalidEvent, parse_event, upper_snake
from sagecost.models.state import EndpointConfigSnapshot
from sagecost.models.tagging import CloudTrailCall

_TIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = _TIME.validate_python(value)
    except ValidationError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _tags(raw: Any) -> dict[str, str] | None:
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return {
            str(t.get("Key") or t.get("key")): str(t.get("Value") or t.get("value") or "")
            for t in raw
            if isinstance(t, dict)
        }
    return None


def _created_figures(operation: Any, parameters: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(job name, its instance figures as DescribeTrainingJob / DescribeTransformJob spell them) from a
    CreateTrainingJob or CreateTransformJob call's camelCase request parameters."""
    if operation == "CreateTrainingJob":
        name, config = parameters.get("trainingJobName"), parameters.get("resourceConfig")
        if not isinstance(name, str) or not isinstance(config, dict):
            return None
        groups = [
            {
                "InstanceGroupName": g.get("instanceGroupName"),
                "InstanceType": g.get("instanceType"),
                "InstanceCount": g.get("instanceCount"),
            }
            for g in config.get("instanceGroups") or []
            if isinstance(g, dict)
        ]
        resource_config = {
            "InstanceType": config.get("instanceType"),
            "InstanceCount": config.get("instanceCount", 1),
            "VolumeSizeInGB": config.get("volumeSizeInGB"),
            **({"InstanceGroups": groups} if groups else {}),
        }
        return name, {"ResourceConfig": {k: v for k, v in resource_config.items() if v is not None}}
    if operation == "CreateTransformJob":
        name, resources = parameters.get("transformJobName"), parameters.get("transformResources")
        if not isinstance(name, str) or not isinstance(resources, dict):
            return None
        return name, {
            "TransformResources": {
                "InstanceType": resources.get("instanceType"),
                "InstanceCount": resources.get("instanceCount", 1),
            }
        }
    return None


@dataclass
class _Known:
    detail: dict[str, Any]
    modified: datetime


@dataclass
class FakeSageMaker:
    """SageMakerReader answered from the events seen so far. `calls` counts reads like API requests."""

    known_training_jobs: dict[str, _Known] = field(default_factory=dict)
    known_transform_jobs: dict[str, _Known] = field(default_factory=dict)
    created_with: dict[str, dict[str, Any]] = field(default_factory=dict)
    """A job's instance figures from its Create*Job call (CloudTrail), by job name, in the Describe shape."""
    known_endpoint_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    known_endpoints: dict[str, _Known] = field(default_factory=dict)
    known_notebooks: dict[str, _Known] = field(default_factory=dict)
    resource_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    added_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    described_training_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """DescribeTrainingJob responses as boto3 returns them, by job name (warm pools): answered as given,
    and listed by ListTrainingJobs (`WarmPoolStatusEquals`) with the summary's fields."""
    warm_pools: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Warm pools of jobs whose events asked for one (`ResourceConfig.KeepAlivePeriodInSeconds`), by job
    name, as ListTrainingJobs summarises them once the pool ended: `Terminated` at the job's end plus the
    keep-alive, having retained the instances (and billed) for the whole keep-alive."""
    emitted: list[dict[str, Any]] = field(default_factory=list)
    """State-change events SageMaker sends after sagecost's own stops and deletes, for the simulator to
    deliver at the virtual time they happen."""

    def observe(self, event: dict[str, Any]) -> None:
        """Learn from one raw EventBridge event: only from an event sagecost itself would accept (a state
        change the recorder parses, a CloudTrail call the tag enforcer reads); anything else is not learned,
        so a rejected line cannot change what SageMaker answers about a resource."""
        detail = event.get("detail")
        if not isinstance(detail, dict):
            return
        kind = event.get("detail-type")
        if kind == "AWS API Call via CloudTrail":
            self._observe_cloudtrail(detail)
            return
        if kind not in METERED_DETAIL_TYPES:
            return
        try:
            parse_event(event)
        except InvalidEvent:
            return
        modified = _time(detail.get("LastModifiedTime")) or _time(event.get("time")) or datetime.now(UTC)
        table, name_key, arn_key = {
            "SageMaker Training Job State Change": (
                self.known_training_jobs,
                "TrainingJobName",
                "TrainingJobArn",
            ),
            "SageMaker Endpoint State Change": (self.known_endpoints, "EndpointName", "EndpointArn"),
            "SageMaker Notebook Instance State Change": (
                self.known_notebooks,
                "NotebookInstanceName",
                "NotebookInstanceArn",
            ),
            "SageMaker Processing Job State Change": ({}, "ProcessingJobName", "ProcessingJobArn"),
            "SageMaker Transform Job State Change": (
                self.known_transform_jobs,
                "TransformJobName",
                "TransformJobArn",
            ),
        }.get(str(kind), (None, "", ""))
        if kind == "SageMaker Endpoint Config State Change" and detail.get("ProductionVariants"):
            self.known_endpoint_configs[str(detail.get("EndpointConfigName"))] = detail
            return
        if table is None or not isinstance(detail.get(name_key), str):
            return
        if kind == "SageMaker Training Job State Change":
            self._observe_warm_pool(detail)
        tags = _tags(detail.get("Tags"))
        if tags and isinstance(detail.get(arn_key), str):
            self.resource_tags[detail[arn_key]] = tags
        name = detail[name_key]
        known = table.get(name)
        if known is None or modified >= known.modified:
            merged = {**known.detail, **detail} if known else dict(detail)
            table[name] = _Known(merged, modified)

    def _observe_warm_pool(self, detail: dict[str, Any]) -> None:
        keep_alive = (detail.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds")
        end = _time(detail.get("TrainingEndTime"))
        if not keep_alive or end is None or detail.get("TrainingJobStatus") not in {"Completed", "Stopped"}:
            return
        self.warm_pools[str(detail["TrainingJobName"])] = {
            "TrainingJobName": detail["TrainingJobName"],
            "TrainingJobArn": detail["TrainingJobArn"],
            "CreationTime": _time(detail.get("CreationTime")),
            "TrainingEndTime": end,
            "LastModifiedTime": end + timedelta(seconds=int(keep_alive)),
            "TrainingJobStatus": detail["TrainingJobStatus"],
            "WarmPoolStatus": {
                "Status": "Terminated",
                "ResourceRetainedBillableTimeInSeconds": int(keep_alive),
            },
        }

    def learn_creation_tags(self, lines: Iterable[str]) -> None:
        """Tags given at creation (CloudTrail Create* calls anywhere in the replay): ListTags knows them
        from the moment a resource exists, even if its create call is delivered after its first events.
        `lines`: only those the replay delivers (a rejected or unrouted line teaches nothing)."""
        for line in lines:
            if '"AWS API Call via CloudTrail"' not in line:
                continue
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(event, dict) and isinstance(event.get("detail"), dict):
                self._observe_cloudtrail(event["detail"])

    def _observe_cloudtrail(self, detail: dict[str, Any]) -> None:
        """A successful Create* call, as the tag enforcer would read it; any other call teaches nothing."""
        try:
            call = CloudTrailCall.model_validate(detail)
        except ValidationError:
            return
        if call.error_code or not str(call.event_name).startswith("Create"):
            return
        parameters = call.request_parameters or {}
        responses = call.response_elements or {}
        arns = [v for k, v in responses.items() if k.endswith("Arn") and isinstance(v, str)]
        tags = _tags(parameters.get("tags"))
        if arns and tags:
            self.resource_tags[arns[0]] = tags  # any Create* call's (a space's, a cluster's) too
        if call.created is None:
            return
        figures = _created_figures(detail.get("eventName"), parameters)
        if figures is not None:
            self.created_with[figures[0]] = figures[1]

    # --- SageMakerReader -----------------------------------------------------------------------

    def ended_warm_pools(self, since: datetime) -> list[WarmPool]:
        pools: list[WarmPool] = []
        for status in FINAL_STATUSES:
            self.calls["ListTrainingJobs"] += 1
            pools += [
                warm_pool_of(job)
                for job in self.described_training_jobs.values()
                if (job.get("WarmPoolStatus") or {}).get("Status") == status
                and (_time(job.get("LastModifiedTime")) or since) > since
            ]
            pools += [
                warm_pool_of(job)
                for job in self.warm_pools.values()
                if job["WarmPoolStatus"]["Status"] == status
                and since < job["LastModifiedTime"] <= clock.now()
            ]
        return pools

    def training_billing(self, name: str) -> TrainingBilling | None:
        self.calls["DescribeTrainingJob"] += 1
        if name in self.described_training_jobs:
            job = self.described_training_jobs[name]
            pool = job.get("WarmPoolStatus") or {}
            return TrainingBilling(
                billable_seconds=job.get("BillableTimeInSeconds"),
                training_seconds=job.get("TrainingTimeInSeconds"),
                start=_time(job.get("TrainingStartTime")),
                end=_time(job.get("TrainingEndTime")),
                instances=instance_lines(job.get("ResourceConfig") or {}),
                volume_gb=(job.get("ResourceConfig") or {}).get("VolumeSizeInGB"),
                spot=bool(job.get("EnableManagedSpotTraining")),
                warm_pool_status=pool.get("Status"),
                warm_pool_seconds=pool.get("ResourceRetainedBillableTimeInSeconds"),
                warm_pool_reused_by=pool.get("ReusedByJob"),
            )
        known = self.known_training_jobs.get(name)
        if known is None:
            return None  # as SageMaker answers for a job it does not have
        job = {**self.created_with.get(name, {}), **{k: v for k, v in known.detail.items() if v is not None}}
        start, end = _time(job.get("TrainingStartTime")), _time(job.get("TrainingEndTime"))
        billable = job.get("BillableTimeInSeconds")
        if billable is None and start and end:
            billable = int(seconds_between(start, end))
        return TrainingBilling(
            billable_seconds=int(billable) if billable is not None else None,
            training_seconds=job.get("TrainingTimeInSeconds") or billable,
            start=start,
            end=end,
            instances=instance_lines(job.get("ResourceConfig") or {}),
            volume_gb=(job.get("ResourceConfig") or {}).get("VolumeSizeInGB"),
            spot=bool(job.get("EnableManagedSpotTraining")),
        )

    def transform_job(self, name: str) -> JobFigures | None:
        self.calls["DescribeTransformJob"] += 1
        known = self.known_transform_jobs.get(name)
        created = self.created_with.get(name)
        if known is None and created is None:
            return None
        seen = known.detail if known else {}
        job = {**(created or {}), **{k: v for k, v in seen.items() if v is not None}}
        return JobFigures(
            instances=transform_lines(job.get("TransformResources") or {}),
            start=_time(job.get("TransformStartTime")),
            end=_time(job.get("TransformEndTime")),
        )

    def endpoint_config(self, name: str) -> EndpointConfigSnapshot | None:
        self.calls["DescribeEndpointConfig"] += 1
        detail = self.known_endpoint_configs.get(name)
        return config_snapshot(detail) if detail else None

    def tags(self, arn: str) -> dict[str, str] | None:
        self.calls["ListTags"] += 1
        if self._deleted(arn):
            return None  # SageMaker: ValidationException, "Could not find ..."
        return dict(self.resource_tags.get(arn, {}))

    def _deleted(self, arn: str) -> bool:
        """A notebook or endpoint whose last event said it is deleted (other kinds are never deleted here)."""
        if ":notebook-instance/" in arn:
            return any(
                k.detail.get("NotebookInstanceArn") == arn
                and k.detail.get("NotebookInstanceStatus") == "Deleted"
                for k in self.known_notebooks.values()
            )
        return ":endpoint/" in arn and any(
            k.detail.get("EndpointArn") == arn
            and upper_snake(str(k.detail.get("EndpointStatus"))) == "DELETED"
            for k in self.known_endpoints.values()
        )

    def _endpoint_summary(self, known: _Known) -> EndpointSummary:
        detail = known.detail
        counts: dict[str, int] = {}
        config = self.known_endpoint_configs.get(str(detail.get("EndpointConfigName")), {})
        names = [v.get("VariantName") for v in config.get("ProductionVariants", [])]
        for index, variant in enumerate(detail.get("ProductionVariants") or []):
            name = variant.get("VariantName") or (names[index] if index < len(names) else str(index))
            count = variant.get("CurrentInstanceCount", variant.get("DesiredInstanceCount"))
            if count is not None:
                counts[str(name)] = int(count)
        return EndpointSummary(
            name=str(detail["EndpointName"]),
            arn=str(detail["EndpointArn"]),
            status=upper_snake(str(detail.get("EndpointStatus", ""))),
            last_modified=known.modified,
            config_name=detail.get("EndpointConfigName"),
            variant_counts=counts,
        )

    def endpoints(self) -> list[EndpointSummary]:
        self.calls["ListEndpoints"] += 1
        summaries = [self._endpoint_summary(self.known_endpoints[n]) for n in sorted(self.known_endpoints)]
        return [s for s in summaries if s.status != "DELETED"]

    def endpoint(self, name: str) -> EndpointSummary | None:
        self.calls["DescribeEndpoint"] += 1
        known = self.known_endpoints.get(name)
        if known is None:
            return None
        summary = self._endpoint_summary(known)
        return None if summary.status == "DELETED" else summary

    def notebooks(self) -> list[NotebookSummary]:
        self.calls["ListNotebookInstances"] += 1
        result = []
        for name in sorted(self.known_notebooks):
            known = self.known_notebooks[name]
            status = str(known.detail.get("NotebookInstanceStatus", ""))
            if status == "Deleted":
                continue
            result.append(
                NotebookSummary(
                    name=name,
                    arn=str(known.detail["NotebookInstanceArn"]),
                    status=status,
                    instance_type=known.detail.get("InstanceType"),
                    last_modified=known.modified,
                )
            )
        return result

    def notebook_volume_gb(self, name: str) -> int | None:
        self.calls["DescribeNotebookInstance"] += 1
        known = self.known_notebooks.get(name)
        volume = known.detail.get("VolumeSizeInGB") if known else None
        return int(volume) if volume is not None else None

    # --- SageMakerTagger ---------------------------------------------------------------------------

    def add_tags(self, arn: str, tags: dict[str, str]) -> bool:
        """AddTags adds or overwrites (a key given again takes the new value); False once it is deleted."""
        self.calls["AddTags"] += 1
        if self._deleted(arn):
            return False
        self.resource_tags[arn] = {**self.resource_tags.get(arn, {}), **tags}
        self.added_tags[arn] = {**self.added_tags.get(arn, {}), **tags}
        return True

    def delete_tags(self, arn: str, keys: list[str]) -> bool:
        self.calls["DeleteTags"] += 1
        for table in (self.resource_tags, self.added_tags):
            if arn in table:
                table[arn] = {k: v for k, v in table[arn].items() if k not in keys}
        return True

    def stop_notebook(self, name: str) -> bool:
        """StopNotebookInstance: SageMaker then sends Stopping and, a minute later, Stopped."""
        self.calls["StopNotebookInstance"] += 1
        known = self.known_notebooks.get(name)
        if known is None or known.detail.get("NotebookInstanceStatus") != "InService":
            return False
        now, instance_type = clock.now(), str(known.detail.get("InstanceType", "ml.t3.medium"))
        tags = self.resource_tags.get(str(known.detail["NotebookInstanceArn"]))
        self.emitted += [
            events.notebook(name, "Stopping", at=now, instance_type=instance_type, tags=tags),
            events.notebook(
                name, "Stopped", at=now + timedelta(minutes=1), instance_type=instance_type, tags=tags
            ),
        ]
        return True

    def delete_endpoint(self, name: str) -> bool:
        """DeleteEndpoint: SageMaker then sends DELETING and, minutes later, DELETED."""
        self.calls["DeleteEndpoint"] += 1
        known = self.known_endpoints.get(name)
        if known is None or upper_snake(str(known.detail.get("EndpointStatus", ""))) in {
            "DELETING",
            "DELETED",
        }:
            return False
        now = clock.now()
        config = str(known.detail.get("EndpointConfigName", ""))
        variants = [(v.get("VariantName"), 0) for v in known.detail.get("ProductionVariants") or []]
        tags = self.resource_tags.get(str(known.detail["EndpointArn"]))
        self.emitted += [
            events.endpoint(name, "DELETING", at=now, config_name=config, variants=variants, tags=tags),
            events.endpoint(
                name, "DELETED", at=now + timedelta(minutes=3), config_name=config, variants=variants, tags={}
            ),
        ]
        return True

    def take_emitted(self) -> list[dict[str, Any]]:
        sent, self.emitted = self.emitted, []
        return sent

    def stop_job(self, kind: str, name: str) -> bool:
        self.calls[f"Stop{kind.title().replace('-', '')}"] += 1
        self.stopped.append((kind, name))
        return True

    def as_sagemaker_sends(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event with the tags sagecost added since the resource's creation: SageMaker's later events
        carry a resource's current tags, the recorded ones cannot know what the enforcer did."""
        detail = event.get("detail")
        if not isinstance(detail, dict) or not self.added_tags or "Tags" not in detail:
            return event
        resources = event.get("resources")
        resource = str(resources[0]) if isinstance(resources, list) and resources else ""
        added = self.added_tags.get(resource)
        if not added:
            return event
        current = _tags(detail.get("Tags")) or {}
        known = self.resource_tags.get(resource, {}) if not current else {}
        return {**event, "detail": {**detail, "Tags": {**known, **added, **current}}}

    # --- the tag sweep's bulk reads ------------------------------------------------------------------

    def governed_resources(self, jobs_since: datetime) -> Iterator[tuple[PolicyKind, str]]:
        for known in self.known_notebooks.values():
            if known.detail.get("NotebookInstanceStatus") != "Deleted":
                yield PolicyKind.NOTEBOOK_INSTANCE, str(known.detail["NotebookInstanceArn"])
        for known in self.known_endpoints.values():
            if upper_snake(str(known.detail.get("EndpointStatus", ""))) != "DELETED":
                yield PolicyKind.ENDPOINT, str(known.detail["EndpointArn"])
        for config in self.known_endpoint_configs.values():
            yield PolicyKind.ENDPOINT_CONFIG, str(config["EndpointConfigArn"])
        for known in self.known_training_jobs.values():
            created = _time(known.detail.get("CreationTime")) or known.modified
            if created >= jobs_since:
                yield PolicyKind.TRAINING_JOB, str(known.detail["TrainingJobArn"])

    def sagemaker_tags(self) -> dict[str, dict[str, str]]:
        """The Tagging API's view: only resources with at least one tag."""
        return {arn: dict(tags) for arn, tags in self.resource_tags.items() if tags}
