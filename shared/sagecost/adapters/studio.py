"""SageMaker Studio apps (JupyterLab, KernelGateway, CodeEditor, ...): list, describe, delete.

moto has no Studio apps; tests and the simulator use `sagecost.local.fake_studio`, which answers with the
real API's shapes (ListApps `Apps`, DescribeApp `LastUserActivityTimestamp`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class StudioApp:
    arn: str
    domain_id: str
    owner: str
    """The user profile or the space the app runs in."""
    is_space: bool
    app_type: str
    name: str
    status: str
    created: datetime
    last_activity: datetime | None
    instance_type: str | None


class StudioApps(Protocol):
    def running_apps(self) -> list[StudioApp]: ...
    def delete_app(self, app: StudioApp) -> bool: ...


class Boto3StudioApps:
    """ListApps (pages of 100) for the running apps, DescribeApp for each one's last user activity."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def running_apps(self) -> list[StudioApp]:
        apps: list[StudioApp] = []
        for page in self.client.get_paginator("list_apps").paginate(PaginationConfig={"PageSize": 100}):
            for app in page.get("Apps", []):
                if app.get("Status") != "InService" or app.get("AppType") == "JupyterServer":
                    continue
                owner = app.get("UserProfileName") or app.get("SpaceName") or ""
                key = {
                    "DomainId": app["DomainId"],
                    "AppType": app["AppType"],
                    "AppName": app["AppName"],
                    **({"SpaceName": owner} if app.get("SpaceName") else {"UserProfileName": owner}),
                }
                described = self.client.describe_app(**key)
                apps.append(
                    StudioApp(
                        arn=described["AppArn"],
                        domain_id=app["DomainId"],
                        owner=owner,
                        is_space=bool(app.get("SpaceName")),
                        app_type=app["AppType"],
                        name=app["AppName"],
                        status=app["Status"],
                        created=app["CreationTime"],
                        last_activity=described.get("LastUserActivityTimestamp"),
                        instance_type=(app.get("ResourceSpec") or {}).get("InstanceType"),
                    )
                )
        return apps

    def delete_app(self, app: StudioApp) -> bool:
        """Delete the app (its space's storage stays); False if it was already gone."""
        owner = {"SpaceName": app.owner} if app.is_space else {"UserProfileName": app.owner}
        try:
            self.client.delete_app(DomainId=app.domain_id, AppType=app.app_type, AppName=app.name, **owner)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"ResourceNotFound", "ValidationException"}:
                return False
            raise
        return True
