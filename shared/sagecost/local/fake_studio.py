"""Studio apps as the SageMaker API shapes them, for tests and the simulator (moto has no Studio apps).

`FakeStudioClient` answers `list_apps` (with its paginator), `describe_app` and `delete_app` with the
fields and errors of the real API, so `adapters.studio.Boto3StudioApps` runs unchanged against it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError


@dataclass
class FakeApp:
    domain_id: str
    owner: str
    app_type: str
    name: str
    created: datetime
    last_activity: datetime | None = None
    instance_type: str = "ml.t3.medium"
    is_space: bool = False
    status: str = "InService"
    region: str = "us-east-1"
    account: str = "123456789012"

    @property
    def arn(self) -> str:
        kind = "space" if self.is_space else "user-profile"
        return (
            f"arn:aws:sagemaker:{self.region}:{self.account}:app/{self.domain_id}/{self.owner}/"
            f"{self.app_type.lower()}/{self.name}"
            if not self.is_space
            else f"arn:aws:sagemaker:{self.region}:{self.account}:app/{self.domain_id}/{kind}/{self.owner}/"
            f"{self.app_type.lower()}/{self.name}"
        )


@dataclass
class _Paginator:
    client: FakeStudioClient

    def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
        apps = [a for a in self.client.apps if a.status != "Deleted"]
        for start in range(0, max(len(apps), 1), 100):
            yield {"Apps": [self.client.summary(a) for a in apps[start : start + 100]]}


@dataclass
class FakeStudioClient:
    apps: list[FakeApp] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def get_paginator(self, operation: str) -> _Paginator:
        assert operation == "list_apps"
        self._count("ListApps")
        return _Paginator(self)

    def summary(self, app: FakeApp) -> dict[str, Any]:
        owner = {"SpaceName": app.owner} if app.is_space else {"UserProfileName": app.owner}
        return {
            "DomainId": app.domain_id,
            **owner,
            "AppType": app.app_type,
            "AppName": app.name,
            "Status": app.status,
            "CreationTime": app.created,
            "ResourceSpec": {"InstanceType": app.instance_type},
        }

    def _find(self, domain: str, app_type: str, name: str, owner: str | None) -> FakeApp:
        for app in self.apps:
            if (app.domain_id, app.app_type, app.name, app.owner) == (domain, app_type, name, owner):
                if app.status == "Deleted":
                    break
                return app
        raise ClientError(
            {"Error": {"Code": "ResourceNotFound", "Message": "App does not exist"}}, "DescribeApp"
        )

    def describe_app(self, **key: Any) -> dict[str, Any]:
        self._count("DescribeApp")
        owner = key.get("UserProfileName") or key.get("SpaceName")
        app = self._find(key["DomainId"], key["AppType"], key["AppName"], owner)
        described = self.summary(app) | {"AppArn": app.arn}
        if app.last_activity is not None:
            described["LastUserActivityTimestamp"] = app.last_activity
        return described

    def delete_app(self, **key: Any) -> dict[str, Any]:
        self._count("DeleteApp")
        owner = key.get("UserProfileName") or key.get("SpaceName")
        self._find(key["DomainId"], key["AppType"], key["AppName"], owner).status = "Deleted"
        return {}
