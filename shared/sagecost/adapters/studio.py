"""SageMaker Studio apps (JupyterLab, KernelGateway, CodeEditor, ...) and spaces: list, describe, delete.

The idle reaper reads the running apps and their last user activity; the usage sweep lists every app and
space (pages of 100, all domains) and describes only what the ledger does not know yet (an app's ARN, a
space's ARN and volume size). moto has no Studio apps or spaces; tests and the simulator use
`sagecost.local.fake_studio`, which answers with the real API's shapes (ListApps `Apps`, DescribeApp
`LastUserActivityTimestamp`, ListSpaces `Spaces`, DescribeSpace `SpaceArn`)."""

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


@dataclass(frozen=True)
class AppSummary:
    """One app as ListApps lists it (no ARN): what the usage sweep meters."""

    domain_id: str
    owner: str
    in_space: bool
    app_type: str
    name: str
    status: str
    created: datetime | None
    instance_type: str | None

    @property
    def key(self) -> dict[str, str]:
        """The members DescribeApp and DeleteApp identify the app by."""
        owner = {"SpaceName": self.owner} if self.in_space else {"UserProfileName": self.owner}
        return {"DomainId": self.domain_id, "AppType": self.app_type, "AppName": self.name, **owner}


@dataclass(frozen=True)
class SpaceSummary:
    """One space as ListSpaces lists it (no ARN; the volume size when the space sets it)."""

    domain_id: str
    name: str
    status: str
    created: datetime | None
    last_modified: datetime | None
    volume_gb: int | None


@dataclass(frozen=True)
class SpaceDescription:
    arn: str
    status: str
    volume_gb: int | None


class StudioApps(Protocol):
    def running_apps(self) -> list[StudioApp]: ...
    def delete_app(self, app: StudioApp) -> bool: ...
    def apps(self) -> list[AppSummary]: ...
    def app_arn(self, app: AppSummary) -> str | None: ...
    def spaces(self) -> list[SpaceSummary]: ...
    def space(self, domain_id: str, name: str) -> SpaceDescription | None: ...


class Boto3StudioApps:
    """ListApps (pages of 100) for the running apps and DescribeApp for each one's last user activity (the
    idle reaper); ListApps and ListSpaces, DescribeApp and DescribeSpace for what the usage sweep lacks."""

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

    def apps(self) -> list[AppSummary]:
        """Every app of every domain, `Deleted` ones included while ListApps still shows them."""
        return [
            AppSummary(
                domain_id=app["DomainId"],
                owner=app.get("SpaceName") or app.get("UserProfileName") or "",
                in_space=bool(app.get("SpaceName")),
                app_type=app["AppType"],
                name=app["AppName"],
                status=app["Status"],
                created=app.get("CreationTime"),
                instance_type=(app.get("ResourceSpec") or {}).get("InstanceType"),
            )
            for page in self.client.get_paginator("list_apps").paginate(PaginationConfig={"PageSize": 100})
            for app in page.get("Apps", [])
        ]

    def app_arn(self, app: AppSummary) -> str | None:
        """DescribeApp's `AppArn`; None if the app is gone."""
        try:
            return str(self.client.describe_app(**app.key)["AppArn"])
        except ClientError as error:
            if _gone(error):
                return None
            raise

    def spaces(self) -> list[SpaceSummary]:
        return [
            SpaceSummary(
                domain_id=space["DomainId"],
                name=space["SpaceName"],
                status=space["Status"],
                created=space.get("CreationTime"),
                last_modified=space.get("LastModifiedTime"),
                volume_gb=_volume_gb(space.get("SpaceSettingsSummary")),
            )
            for page in self.client.get_paginator("list_spaces").paginate(PaginationConfig={"PageSize": 100})
            for space in page.get("Spaces", [])
        ]

    def space(self, domain_id: str, name: str) -> SpaceDescription | None:
        """DescribeSpace: its ARN and volume size; None if the space is gone."""
        try:
            described = self.client.describe_space(DomainId=domain_id, SpaceName=name)
        except ClientError as error:
            if _gone(error):
                return None
            raise
        return SpaceDescription(
            arn=described["SpaceArn"],
            status=described["Status"],
            volume_gb=_volume_gb(described.get("SpaceSettings")),
        )

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


def _gone(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"ResourceNotFound", "ValidationException"}


def _volume_gb(settings: Any) -> int | None:
    """`SpaceStorageSettings.EbsStorageSettings.EbsVolumeSizeInGb` of a space's settings, if set."""
    storage = ((settings or {}).get("SpaceStorageSettings") or {}).get("EbsStorageSettings") or {}
    size = storage.get("EbsVolumeSizeInGb")
    return size if isinstance(size, int) and not isinstance(size, bool) else None
