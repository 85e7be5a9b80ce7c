"""Studio apps and spaces as the SageMaker API shapes them, for tests and the simulator (moto has neither).

`FakeStudioClient` answers `list_apps` and `list_spaces` (with their paginators), `describe_app`,
`delete_app`, `describe_space` and `list_tags` (of spaces and user profiles) with the fields and errors of
the real API, so `adapters.studio.Boto3StudioApps` (and `Boto3SageMaker.tags`) run unchanged against it.
ListApps shows `Deleted` apps too, as the real one does for a while; neither list carries an ARN."""

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
        """`app/<domain>/<space or user profile>/<apptype, lower case>/<name>` (a real DescribeApp's)."""
        return (
            f"arn:aws:sagemaker:{self.region}:{self.account}:app/{self.domain_id}/{self.owner}/"
            f"{self.app_type.lower()}/{self.name}"
        )


@dataclass
class FakeSpace:
    domain_id: str
    name: str
    created: datetime
    volume_gb: int | None = None
    """None: the space sets no size (the domain default applies); DescribeSpace then shows `default_gb`."""
    default_gb: int = 5
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "InService"
    last_modified: datetime | None = None
    region: str = "us-east-1"
    account: str = "123456789012"

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:space/{self.domain_id}/{self.name}"


@dataclass
class _Paginator:
    client: FakeStudioClient
    operation: str

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        if self.client.failure is not None:
            raise self.client.failure
        if self.operation == "list_tags":
            yield {"Tags": self.client.tags_of(kwargs["ResourceArn"])}
            return
        if self.operation in _TAG_SWEEP_LISTINGS:
            key, items = self.client.tag_sweep_listing(self.operation)
            for start in range(0, max(len(items), 1), 100):
                yield {key: items[start : start + 100]}
            return
        key, items = (
            ("Apps", [self.client.summary(a) for a in self.client.apps])
            if self.operation == "list_apps"
            else (
                "Spaces",
                [self.client.space_summary(s) for s in self.client.spaces if s.status != "Deleted"],
            )
        )
        for start in range(0, max(len(items), 1), 100):
            yield {key: items[start : start + 100]}


_TAG_SWEEP_LISTINGS = {"list_domains": "ListDomains", "list_user_profiles": "ListUserProfiles"}
_OPERATIONS = {
    "list_apps": "ListApps",
    "list_spaces": "ListSpaces",
    "list_tags": "ListTags",
    **_TAG_SWEEP_LISTINGS,
}


@dataclass
class FakeStudioClient:
    apps: list[FakeApp] = field(default_factory=list)
    spaces: list[FakeSpace] = field(default_factory=list)
    profile_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    """User profiles' tags by the profile's ARN."""
    calls: dict[str, int] = field(default_factory=dict)
    failure: Exception | None = None
    """Raised by every list call (to test a sweep whose listing fails)."""

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def get_paginator(self, operation: str) -> _Paginator:
        assert operation in _OPERATIONS, operation
        self._count(_OPERATIONS[operation])
        return _Paginator(self, operation)

    def space_summary(self, space: FakeSpace) -> dict[str, Any]:
        settings: dict[str, Any] = {"AppType": "JupyterLab"}
        if space.volume_gb is not None:
            settings["SpaceStorageSettings"] = {"EbsStorageSettings": {"EbsVolumeSizeInGb": space.volume_gb}}
        return {
            "DomainId": space.domain_id,
            "SpaceName": space.name,
            "Status": space.status,
            "CreationTime": space.created,
            "LastModifiedTime": space.last_modified or space.created,
            "SpaceSettingsSummary": settings,
        }

    def describe_space(self, **key: Any) -> dict[str, Any]:
        self._count("DescribeSpace")
        for space in self.spaces:
            if (space.domain_id, space.name) == (
                key["DomainId"],
                key["SpaceName"],
            ) and space.status != "Deleted":
                size = space.volume_gb if space.volume_gb is not None else space.default_gb
                return {
                    "DomainId": space.domain_id,
                    "SpaceArn": space.arn,
                    "SpaceName": space.name,
                    "Status": space.status,
                    "CreationTime": space.created,
                    "LastModifiedTime": space.last_modified or space.created,
                    "SpaceSettings": {
                        "AppType": "JupyterLab",
                        "SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": size}},
                    },
                }
        raise ClientError(
            {"Error": {"Code": "ResourceNotFound", "Message": "Space does not exist"}}, "DescribeSpace"
        )

    def tags_of(self, arn: str) -> list[dict[str, str]]:
        for space in self.spaces:
            if space.arn == arn and space.status != "Deleted":
                return [{"Key": k, "Value": v} for k, v in space.tags.items()]
        if arn in self.profile_tags:
            return [{"Key": k, "Value": v} for k, v in self.profile_tags[arn].items()]
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": f"Resource {arn} does not exist"}},
            "ListTags",
        )

    # --- what the tag sweep and the tag enforcer use -------------------------------------------------

    def _profiles(self) -> list[tuple[str, str, str]]:
        """(ARN, domain id, name) of the user profiles (`user-profile/<domain id>/<name>`)."""
        return [
            (arn, *arn.split(":user-profile/", 1)[1].split("/", 1))  # type: ignore[misc]
            for arn in self.profile_tags
        ]

    def tag_sweep_listing(self, operation: str) -> tuple[str, list[dict[str, Any]]]:
        """ListDomains (every domain a space, profile or app names, ARN `domain/<id>` in the account of
        the first space or profile) and ListUserProfiles, as the real calls shape them (no profile ARN)."""
        if operation == "list_user_profiles":
            return "UserProfiles", [
                {"DomainId": domain, "UserProfileName": name, "Status": "InService"}
                for _, domain, name in self._profiles()
            ]
        prefixes = {s.domain_id: s.arn.split(":space/", 1)[0] for s in self.spaces}
        prefixes |= {domain: arn.split(":user-profile/", 1)[0] for arn, domain, _ in self._profiles()}
        prefix = next(iter(prefixes.values()), "arn:aws:sagemaker:us-east-1:123456789012")
        domain_ids = {*prefixes, *(a.domain_id for a in self.apps)}
        return "Domains", [
            {"DomainId": d, "DomainArn": f"{prefixes.get(d, prefix)}:domain/{d}", "Status": "InService"}
            for d in sorted(domain_ids)
        ]

    def add_tags(self, **request: Any) -> dict[str, Any]:
        """AddTags on a space or user profile: adds or overwrites (as the real call does)."""
        self._count("AddTags")
        arn, added = request["ResourceArn"], {t["Key"]: t["Value"] for t in request["Tags"]}
        self.tags_of(arn)  # the real call's error for an unknown resource
        for space in self.spaces:
            if space.arn == arn:
                space.tags.update(added)
                return {"Tags": request["Tags"]}
        self.profile_tags[arn].update(added)
        return {"Tags": request["Tags"]}

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
