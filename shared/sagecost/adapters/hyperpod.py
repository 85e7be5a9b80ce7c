"""SageMaker HyperPod clusters: ListClusters (pages of 100) and DescribeCluster (the instance groups'
`CurrentCount`). moto has no HyperPod; tests use `sagecost.local.fake_hyperpod` (the real shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from sagecost.models.events import ClusterInstanceGroupState

PAGE_SIZE = 100


@dataclass(frozen=True)
class ClusterSummary:
    """One entry of ListClusters."""

    arn: str
    name: str
    status: str
    created: datetime


@dataclass(frozen=True)
class ClusterState:
    """DescribeCluster: the status and the instance groups with their current counts."""

    arn: str
    name: str
    status: str
    groups: tuple[ClusterInstanceGroupState, ...]


class HyperPodClusters(Protocol):
    def clusters(self) -> list[ClusterSummary]: ...
    def cluster(self, name: str) -> ClusterState | None: ...
    def tags(self, arn: str) -> dict[str, str] | None: ...


class Boto3HyperPodClusters:
    def __init__(self, client: Any) -> None:
        self.client = client

    def clusters(self) -> list[ClusterSummary]:
        paginator = self.client.get_paginator("list_clusters")
        return [
            ClusterSummary(
                arn=c["ClusterArn"],
                name=c["ClusterName"],
                status=c["ClusterStatus"],
                created=c["CreationTime"],
            )
            for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE})
            for c in page.get("ClusterSummaries", [])
        ]

    def cluster(self, name: str) -> ClusterState | None:
        """DescribeCluster; None when the cluster is gone."""
        try:
            described = self.client.describe_cluster(ClusterName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"ResourceNotFound", "ValidationException"}:
                return None
            raise
        return ClusterState(
            arn=described["ClusterArn"],
            name=described["ClusterName"],
            status=described["ClusterStatus"],
            groups=tuple(
                ClusterInstanceGroupState.model_validate(group)
                for group in described.get("InstanceGroups", [])
            ),
        )

    def tags(self, arn: str) -> dict[str, str] | None:
        """ListTags of the cluster (cluster events carry no tags); None when it is gone."""
        try:
            pages = self.client.get_paginator("list_tags").paginate(ResourceArn=arn)
            return {tag["Key"]: tag["Value"] for page in pages for tag in page.get("Tags", [])}
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"ResourceNotFound", "ValidationException"}:
                return None
            raise
