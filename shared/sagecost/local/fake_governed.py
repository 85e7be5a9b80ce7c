"""One SageMaker client over moto and the issue-12 fakes, for the tag sweep and the tag enforcer.

`Boto3SageMaker` talks to one client; moto knows none of spaces, user profiles, inference components or
MLflow servers (and its HyperPod clusters carry no tags we can seed). `GovernedClient` sends each List call
to the fake that answers it and ListTags / AddTags to the fake that holds the ARN's resource type, and
everything else to `base` (moto, or nothing), so the adapters run unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from sagecost.local.fake_hyperpod import FakeHyperPodClient
from sagecost.local.fake_inference_components import FakeInferenceComponentsClient
from sagecost.local.fake_mlflow import FakeMlflowClient
from sagecost.local.fake_studio import FakeStudioClient

_EMPTY_LISTINGS = {
    "list_notebook_instances": "NotebookInstances",
    "list_endpoints": "Endpoints",
    "list_endpoint_configs": "EndpointConfigs",
    "list_models": "Models",
    "list_training_jobs": "TrainingJobSummaries",
    "list_processing_jobs": "ProcessingJobSummaries",
    "list_transform_jobs": "TransformJobSummaries",
}


@dataclass
class _Empty:
    key: str

    def paginate(self, **_: Any) -> Any:
        yield {self.key: []}


@dataclass
class GovernedClient:
    studio: FakeStudioClient = field(default_factory=FakeStudioClient)
    components: FakeInferenceComponentsClient = field(default_factory=FakeInferenceComponentsClient)
    hyperpod: FakeHyperPodClient = field(default_factory=FakeHyperPodClient)
    mlflow: FakeMlflowClient = field(default_factory=FakeMlflowClient)
    base: Any = None
    """moto's SageMaker client for the built-in kinds; None: they list nothing."""

    def _listing(self, operation: str) -> Any:
        owners: dict[str, Any] = {
            "list_domains": self.studio,
            "list_spaces": self.studio,
            "list_user_profiles": self.studio,
            "list_inference_components": self.components,
            "list_clusters": self.hyperpod,
            "list_mlflow_tracking_servers": self.mlflow,
        }
        return owners.get(operation)

    def _holder(self, arn: str) -> Any:
        for marker, holder in (
            (":space/", self.studio),
            (":user-profile/", self.studio),
            (":inference-component/", self.components),
            (":cluster/", self.hyperpod),
            (":mlflow-tracking-server/", self.mlflow),
        ):
            if marker in arn:
                return holder
        return self.base

    def get_paginator(self, operation: str) -> Any:
        if operation == "list_tags":
            return _Tags(self)
        owner = self._listing(operation)
        if owner is not None:
            return owner.get_paginator(operation)
        if self.base is None:
            return _Empty(_EMPTY_LISTINGS[operation])
        return self.base.get_paginator(operation)

    def add_tags(self, **request: Any) -> Any:
        holder = self._holder(request["ResourceArn"])
        if holder is None:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "not found"}}, "AddTags")
        return holder.add_tags(**request)

    def __getattr__(self, name: str) -> Any:
        if self.base is None:
            raise AttributeError(name)
        return getattr(self.base, name)


@dataclass
class _Tags:
    client: GovernedClient

    def paginate(self, **request: Any) -> Any:
        holder = self.client._holder(request["ResourceArn"])
        if holder is None:
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Could not find resource"}}, "ListTags"
            )
        return holder.get_paginator("list_tags").paginate(**request)
