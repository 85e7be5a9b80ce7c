"""SageMaker managed MLflow tracking servers: list (pages of 100) and describe (for the size only).

moto has no MLflow; tests and the simulator use `sagecost.local.fake_mlflow`, which answers with the real
API's shapes (ListMlflowTrackingServers summaries carry no `TrackingServerSize`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

PAGE_SIZE = 100


@dataclass(frozen=True)
class TrackingServer:
    """One entry of ListMlflowTrackingServers."""

    arn: str
    name: str
    status: str
    last_modified: datetime
    created: datetime | None = None


class MlflowServers(Protocol):
    def tracking_servers(self) -> list[TrackingServer]: ...
    def tracking_server_size(self, name: str) -> str | None: ...


class Boto3MlflowServers:
    def __init__(self, client: Any) -> None:
        self.client = client

    def tracking_servers(self) -> list[TrackingServer]:
        paginator = self.client.get_paginator("list_mlflow_tracking_servers")
        return [
            TrackingServer(
                arn=s["TrackingServerArn"],
                name=s["TrackingServerName"],
                status=s["TrackingServerStatus"],
                last_modified=s.get("LastModifiedTime") or s["CreationTime"],
                created=s.get("CreationTime"),
            )
            for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE})
            for s in page.get("TrackingServerSummaries", [])
        ]

    def tracking_server_size(self, name: str) -> str | None:
        """DescribeMlflowTrackingServer's `TrackingServerSize`; None when no such server exists."""
        try:
            described = self.client.describe_mlflow_tracking_server(TrackingServerName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"ResourceNotFound", "ValidationException"}:
                return None
            raise
        size = described.get("TrackingServerSize")
        return str(size) if size else None
