"""Inference components as the SageMaker API shapes them, for tests and the bench (moto has none).

`FakeInferenceComponentsClient` answers `list_inference_components` (and its paginator) with the fields,
paging (`MaxResults` 1-100, default 10; `NextToken`) and errors of the real API, so
`adapters.sagemaker.Boto3SageMaker.inference_components` runs unchanged against it; and
`describe_inference_component` and `list_tags` (and its paginator) for `adapters.inference_components`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

STATUSES = ("InService", "Creating", "Updating", "Failed", "Deleting")


@dataclass
class FakeInferenceComponent:
    name: str
    endpoint_name: str
    created: datetime
    variant_name: str = "AllTraffic"
    status: str = "InService"
    region: str = "us-east-1"
    account: str = "123456789012"
    requirements: dict[str, Any] = field(
        default_factory=lambda: {"NumberOfAcceleratorDevicesRequired": 1.0, "MinMemoryRequiredInMb": 1024}
    )
    """`Specification.ComputeResourceRequirements`, as DescribeInferenceComponent returns it."""
    copies: int = 1
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:inference-component/{self.name}"

    @property
    def endpoint_arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:endpoint/{self.endpoint_name}"


def _validation(message: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ValidationException", "Message": message}}, "ListInferenceComponents"
    )


@dataclass
class _Paginator:
    client: FakeInferenceComponentsClient

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        request = dict(kwargs)
        config = request.pop("PaginationConfig", {}) or {}
        if "PageSize" in config:
            request["MaxResults"] = config["PageSize"]
        while True:
            page = self.client.list_inference_components(**request)
            yield page
            if "NextToken" not in page:
                return
            request["NextToken"] = page["NextToken"]


@dataclass
class _TagPaginator:
    client: FakeInferenceComponentsClient

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield self.client.list_tags(ResourceArn=kwargs["ResourceArn"])


@dataclass
class FakeInferenceComponentsClient:
    components: list[FakeInferenceComponent] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    failure: ClientError | None = None
    """Raised by every call (e.g. AccessDeniedException when the role lacks the permission)."""

    def get_paginator(self, operation: str) -> Any:
        if operation == "list_tags":
            return _TagPaginator(self)
        if operation != "list_inference_components":
            raise NotImplementedError(
                f"the fake answers ListInferenceComponents and ListTags, not {operation}"
            )
        return _Paginator(self)

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        if self.failure is not None:
            raise self.failure

    def _named(self, name: str, operation: str) -> FakeInferenceComponent:
        for component in self.components:
            if name in (component.name, component.arn):
                return component
        raise ClientError(
            {
                "Error": {
                    "Code": "ValidationException",
                    "Message": f"Could not find inference component {name}.",
                }
            },
            operation,
        )

    def describe_inference_component(self, **kwargs: Any) -> dict[str, Any]:
        self._count("DescribeInferenceComponent")
        c = self._named(kwargs["InferenceComponentName"], "DescribeInferenceComponent")
        return {
            **{k: v for k, v in self.summary(c).items() if k != "InferenceComponentStatus"},
            "Specification": {"ModelName": f"{c.name}-model", "ComputeResourceRequirements": c.requirements},
            "RuntimeConfig": {"DesiredCopyCount": c.copies, "CurrentCopyCount": c.copies},
            "InferenceComponentStatus": c.status,
        }

    def list_tags(self, **kwargs: Any) -> dict[str, Any]:
        self._count("ListTags")
        c = self._named(kwargs["ResourceArn"], "ListTags")
        return {"Tags": [{"Key": k, "Value": v} for k, v in c.tags.items()]}

    def add_tags(self, **kwargs: Any) -> dict[str, Any]:
        """AddTags: adds or overwrites, as the real call does (the caller decides what not to write)."""
        self._count("AddTags")
        self._named(kwargs["ResourceArn"], "AddTags").tags.update(
            {t["Key"]: t["Value"] for t in kwargs["Tags"]}
        )
        return {"Tags": kwargs["Tags"]}

    def list_inference_components(self, **kwargs: Any) -> dict[str, Any]:
        self.calls["ListInferenceComponents"] = self.calls.get("ListInferenceComponents", 0) + 1
        if self.failure is not None:
            raise self.failure
        size = kwargs.get("MaxResults", 10)
        if not 1 <= size <= 100:
            raise _validation(
                f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
                "constraint: Member must have value between 1 and 100"
            )
        status = kwargs.get("StatusEquals")
        if status is not None and status not in STATUSES:
            raise _validation(f"Value '{status}' at 'statusEquals' failed to satisfy constraint")
        selected = [
            c
            for c in sorted(
                self.components, key=lambda c: c.created, reverse=True
            )  # CreationTime, Descending
            if kwargs.get("EndpointNameEquals") in (None, c.endpoint_name)
            and kwargs.get("VariantNameEquals") in (None, c.variant_name)
            and status in (None, c.status)
            and kwargs.get("NameContains", "") in c.name
        ]
        token = kwargs.get("NextToken")
        first = 0
        if token is not None:
            if not token.startswith("ic-token-") or not token[len("ic-token-") :].isdigit():
                raise _validation("Invalid pagination token")
            first = int(token[len("ic-token-") :])
        page: dict[str, Any] = {
            "InferenceComponents": [self.summary(c) for c in selected[first : first + size]]
        }
        if first + size < len(selected):
            page["NextToken"] = f"ic-token-{first + size}"
        return page

    @staticmethod
    def summary(component: FakeInferenceComponent) -> dict[str, Any]:
        return {
            "CreationTime": component.created,
            "InferenceComponentArn": component.arn,
            "InferenceComponentName": component.name,
            "EndpointArn": component.endpoint_arn,
            "EndpointName": component.endpoint_name,
            "VariantName": component.variant_name,
            "InferenceComponentStatus": component.status,
            "LastModifiedTime": component.created,
        }
