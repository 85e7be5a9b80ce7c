"""MLflow tracking servers as the SageMaker API shapes them, for tests and the simulator (moto has none).

`FakeMlflowClient` answers `list_mlflow_tracking_servers` (and its paginator: `MaxResults` 1-100,
`NextToken`) and `describe_mlflow_tracking_server` with the real fields and errors, so
`adapters.mlflow.Boto3MlflowServers` runs unchanged against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError


@dataclass
class FakeTrackingServer:
    name: str
    created: datetime
    size: str = "Small"
    status: str = "Created"
    last_modified: datetime | None = None
    region: str = "us-east-1"
    account: str = "111122223333"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:mlflow-tracking-server/{self.name}"


@dataclass
class TokenPaginator:
    """A boto3 paginator over a fake's list operation: `PaginationConfig.PageSize` as `MaxResults`, then
    `NextToken` until a page has none."""

    operation: Callable[..., dict[str, Any]]

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        request = dict(kwargs)
        config = request.pop("PaginationConfig", {}) or {}
        if "PageSize" in config:
            request["MaxResults"] = config["PageSize"]
        while True:
            page = self.operation(**request)
            yield page
            if "NextToken" not in page:
                return
            request["NextToken"] = page["NextToken"]


def page_of(items: list[Any], request: dict[str, Any], operation: str) -> tuple[list[Any], dict[str, Any]]:
    """One page of `items` as a SageMaker List* call returns it: (the page, `{"NextToken": ...}` or {}).
    `MaxResults` 1 to 100 (default 100), else the API's ValidationException."""
    size = request.get("MaxResults", 100)
    if not 1 <= size <= 100:
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": "maxResults must be 1 to 100"}}, operation
        )
    first = int(request.get("NextToken") or 0)
    more = {"NextToken": str(first + size)} if first + size < len(items) else {}
    return items[first : first + size], more


@dataclass
class FakeMlflowClient:
    servers: list[FakeTrackingServer] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    failure: ClientError | None = None
    """Raised by every call (e.g. AccessDeniedException when the role lacks the permission)."""

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        if self.failure is not None:
            raise self.failure

    def get_paginator(self, operation: str) -> TokenPaginator:
        if operation == "list_tags":
            return TokenPaginator(self.list_tags)
        if operation != "list_mlflow_tracking_servers":
            raise NotImplementedError(
                f"the fake paginates ListMlflowTrackingServers and ListTags only, not {operation}"
            )
        return TokenPaginator(self.list_mlflow_tracking_servers)

    def _server(self, arn: str, operation: str) -> FakeTrackingServer:
        for server in self.servers:
            if arn in (server.arn, server.name) and server.status != "Deleted":
                return server
        raise ClientError(
            {"Error": {"Code": "ResourceNotFound", "Message": f"Tracking server {arn} not found"}}, operation
        )

    def list_tags(self, ResourceArn: str, **_: Any) -> dict[str, Any]:
        self._count("ListTags")
        server = self._server(ResourceArn, "ListTags")
        return {"Tags": [{"Key": k, "Value": v} for k, v in server.tags.items()]}

    def add_tags(self, ResourceArn: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        """AddTags: adds or overwrites, as the real call does (the caller decides what not to write)."""
        self._count("AddTags")
        self._server(ResourceArn, "AddTags").tags.update({t["Key"]: t["Value"] for t in Tags})
        return {"Tags": Tags}

    def list_mlflow_tracking_servers(self, **kwargs: Any) -> dict[str, Any]:
        self._count("ListMlflowTrackingServers")
        listed = sorted(self.servers, key=lambda s: s.created, reverse=True)
        page, more = page_of(listed, kwargs, "ListMlflowTrackingServers")
        return {"TrackingServerSummaries": [self.summary(s) for s in page], **more}

    @staticmethod
    def summary(server: FakeTrackingServer) -> dict[str, Any]:
        return {
            "TrackingServerArn": server.arn,
            "TrackingServerName": server.name,
            "CreationTime": server.created,
            "LastModifiedTime": server.last_modified or server.created,
            "TrackingServerStatus": server.status,
            "IsActive": "Inactive" if server.status == "Stopped" else "Active",
            "MlflowVersion": "2.16.2",
        }

    def describe_mlflow_tracking_server(self, TrackingServerName: str) -> dict[str, Any]:
        self._count("DescribeMlflowTrackingServer")
        for server in self.servers:
            if server.name == TrackingServerName:
                return self.summary(server) | {"TrackingServerSize": server.size}
        raise ClientError(
            {"Error": {"Code": "ResourceNotFound", "Message": f"{TrackingServerName} not found"}},
            "DescribeMlflowTrackingServer",
        )
