"""S3: where the month-end outputs are kept, one folder per month, overwritten by a re-run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


class ReportSink(Protocol):
    def put(self, month: str, files: Mapping[str, bytes]) -> str: ...


class DirectoryReports:
    """The CLI's and the simulator's sink: the month's files in a local folder."""

    def __init__(self, folder: Path, *, per_month: bool = True, relative_to: Path | None = None) -> None:
        self.folder = folder
        self.per_month = per_month
        self.relative_to = relative_to

    def put(self, month: str, files: Mapping[str, bytes]) -> str:
        """Write the files; the folder, relative to `relative_to` if given (so outputs name no temp path)."""
        target = self.folder / month if self.per_month else self.folder
        target.mkdir(parents=True, exist_ok=True)
        for name, body in sorted(files.items()):
            (target / name).write_bytes(body)
        return str(target.relative_to(self.relative_to) if self.relative_to else target)


class S3Reports:
    def __init__(self, client: S3Client, bucket: str, prefix: str = "allocations") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def location(self, month: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}/{month}/"

    def put(self, month: str, files: Mapping[str, bytes]) -> str:
        """Write every file of the month (a PUT replaces the previous run's); the folder's s3:// address."""
        for name, body in sorted(files.items()):
            suffix = name[name.rfind(".") :]
            self.client.put_object(
                Bucket=self.bucket,
                Key=f"{self.prefix}/{month}/{name}",
                Body=body,
                ContentType=CONTENT_TYPES.get(suffix, "application/octet-stream"),
            )
        return self.location(month)
