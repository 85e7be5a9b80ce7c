"""HyperPod clusters as the SageMaker API shapes them, for tests and the simulator (moto has none).

`FakeHyperPodClient` answers `list_clusters` (and its paginator: `MaxResults` 1-100, `NextToken`),
`describe_cluster` and `list_cluster_nodes` with the real fields and errors, so
`adapters.hyperpod.Boto3HyperPodClusters` runs unchanged against it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sagecost.local.fake_mlflow import TokenPaginator, page_of


@dataclass
class FakeInstanceGroup:
    name: str
    instance_type: str
    count: int


@dataclass
class FakeCluster:
    cluster_id: str
    name: str
    created: datetime
    groups: list[FakeInstanceGroup] = field(default_factory=list)
    status: str = "InService"
    tags: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account: str = "111122223333"

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:cluster/{self.cluster_id}"


@dataclass
class FakeHyperPodClient:
    clusters: list[FakeCluster] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    failure: ClientError | None = None

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        if self.failure is not None:
            raise self.failure

    def get_paginator(self, operation: str) -> TokenPaginator:
        if operation == "list_tags":
            return TokenPaginator(self.list_tags)
        if operation != "list_clusters":
            raise NotImplementedError(f"the fake paginates ListClusters and ListTags only, not {operation}")
        return TokenPaginator(self.list_clusters)

    def list_tags(self, ResourceArn: str, **_: Any) -> dict[str, Any]:
        self._count("ListTags")
        cluster = self._find(ResourceArn, "ListTags")
        return {"Tags": [{"Key": k, "Value": v} for k, v in cluster.tags.items()]}

    def add_tags(self, ResourceArn: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        """AddTags: adds or overwrites, as the real call does (the caller decides what not to write)."""
        self._count("AddTags")
        self._find(ResourceArn, "AddTags").tags.update({t["Key"]: t["Value"] for t in Tags})
        return {"Tags": Tags}

    def list_clusters(self, **kwargs: Any) -> dict[str, Any]:
        self._count("ListClusters")
        listed = sorted(self.clusters, key=lambda c: c.created, reverse=True)
        page, more = page_of(listed, kwargs, "ListClusters")
        summaries = [
            {"ClusterArn": c.arn, "ClusterName": c.name, "CreationTime": c.created, "ClusterStatus": c.status}
            for c in page
        ]
        return {"ClusterSummaries": summaries, **more}

    def _find(self, name: str, operation: str) -> FakeCluster:
        for cluster in self.clusters:
            if name in (cluster.name, cluster.arn):
                return cluster
        raise ClientError(
            {"Error": {"Code": "ResourceNotFound", "Message": f"Cluster {name} not found"}}, operation
        )

    def describe_cluster(self, ClusterName: str) -> dict[str, Any]:
        self._count("DescribeCluster")
        cluster = self._find(ClusterName, "DescribeCluster")
        return {
            "ClusterArn": cluster.arn,
            "ClusterName": cluster.name,
            "ClusterStatus": cluster.status,
            "CreationTime": cluster.created,
            "InstanceGroups": [
                {
                    "CurrentCount": g.count,
                    "TargetCount": g.count,
                    "InstanceGroupName": g.name,
                    "InstanceType": g.instance_type,
                    "Status": "InService",
                    "ThreadsPerCore": 1,
                }
                for g in cluster.groups
            ],
            "NodeRecovery": "Automatic",
        }

    def list_cluster_nodes(self, ClusterName: str, **_: Any) -> dict[str, Any]:
        self._count("ListClusterNodes")
        cluster = self._find(ClusterName, "ListClusterNodes")
        return {
            "ClusterNodeSummaries": [
                {
                    "InstanceGroupName": g.name,
                    "InstanceId": f"i-{cluster.cluster_id}{g.name[:3]}{index:04d}",
                    "InstanceType": g.instance_type,
                    "LaunchTime": cluster.created,
                    "InstanceStatus": {"Status": "Running", "Message": ""},
                }
                for g in cluster.groups
                for index in range(g.count)
            ]
        }
