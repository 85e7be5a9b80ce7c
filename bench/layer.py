"""Section 9: the Lambda layer as `sam build` makes it — zipped size, what it holds, and each handler's import
time on python3.12 against the built layer and function folders (the cold start's import phase).

Needs `make build` first (.aws-sam/build) and a python3.12 (pyenv's is found as the Makefile finds it). The
Lambda runtime brings boto3/botocore; here a `.venv-lambda` (python3.12, boto3 and botocore only, at the
pins of requirements/dev.txt) stands in for it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import statistics
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench import HANDLER_ENV, REPO, parse_importtime

BUILD = REPO / ".aws-sam" / "build"
LAYER = BUILD / "SharedLayer" / "python"
LAMBDA_VENV = REPO / ".venv-lambda"
HOST_LAYER = LAMBDA_VENV / "layer" / "python"
"""The same layer built for this machine's processor (the built one has arm64 binaries)."""
RUNTIME_CODE_ONLY = ("sagecost/local", "sagecost/cli.py", "moto", "boto3", "botocore")
"""What the layer must not hold: the embedded runtime, the CLI, moto, and the runtime's own SDK."""


def python312() -> Path | None:
    """A python3.12 that runs (pyenv's shim exists even when 3.12 is not active: it is tried last)."""
    candidates: list[str] = []
    if shutil.which("pyenv"):
        for version in ("3.12", "3.12.1"):
            found = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True, check=False)
            if found.returncode == 0 and found.stdout.strip():
                candidates.append(f"{found.stdout.strip()}/bin/python3.12")
    candidates.append(shutil.which("python3.12") or "")
    for candidate in candidates:
        if (
            candidate
            and subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False).returncode == 0
        ):
            return Path(candidate)
    return None


def _pins() -> list[str]:
    text = (REPO / "requirements" / "dev.txt").read_text()
    return [line for line in text.splitlines() if re.match(r"^(boto3|botocore)==", line)]


def lambda_python(py312: Path) -> Path:
    """A python3.12 with only boto3/botocore, as the Lambda runtime has them (created once), and the layer
    rebuilt for this machine by shared/Makefile, the recipe `sam build` runs."""
    python = LAMBDA_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([str(py312), "-m", "venv", str(LAMBDA_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *_pins()],
            check=True,
        )
    shutil.rmtree(HOST_LAYER.parent, ignore_errors=True)
    platform = f"manylinux2014_{os.uname().machine}"
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(REPO / "shared"),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={HOST_LAYER.parent}",
            f"PYTHON={python}",
            f"PLATFORM={platform}",
        ],
        check=True,
        capture_output=True,  # pip's chatter (a failure raises with it)
    )
    return python


def zipped_bytes(folder: Path) -> tuple[int, int, int]:
    """(zipped bytes, unzipped bytes, files) of a folder, deflated as `sam deploy` uploads it."""
    buffer = io.BytesIO()
    unzipped = files = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent))
                unzipped += path.stat().st_size
                files += 1
    return len(buffer.getvalue()), unzipped, files


def forbidden_contents(layer: Path) -> list[str]:
    return [name for name in RUNTIME_CODE_ONLY if (layer / name).exists()]


@dataclass
class HandlerImport:
    function: str
    module: str
    median_ms: float
    min_ms: float
    loads_local_code: bool


def handler_folders() -> list[tuple[str, str, Path]]:
    """(function logical id, handler module, its built folder) from the built template."""
    import yaml

    template = yaml.safe_load((BUILD / "template.yaml").read_text())
    found = []
    for logical_id, resource in sorted(template["Resources"].items()):
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        handler = str(resource["Properties"].get("Handler") or template["Globals"]["Function"]["Handler"])
        found.append((logical_id, handler.rsplit(".", 1)[0], BUILD / logical_id))
    return found


def measure_handler(python: Path, function: str, module: str, folder: Path, repeats: int) -> HandlerImport:
    env = {**os.environ, **HANDLER_ENV, "PYTHONPATH": os.pathsep.join([str(folder), str(HOST_LAYER)])}
    env.setdefault("AWS_ACCESS_KEY_ID", "bench")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    local = "('moto.', 'sagecost.local', 'sagecost.cli')"
    probe = f"import sys, {module}; print(any(m == 'moto' or m.startswith({local}) for m in sys.modules))"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(python), *args], env=env, cwd=folder, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{function}: {' '.join(args)} failed: {result.stderr[-1500:]}")
        return result

    loads_local = run("-c", probe).stdout.strip() == "True"  # also the warm-up: bytecode cached after it
    runs = [
        parse_importtime(run("-X", "importtime", "-c", f"import {module}").stderr, module)
        for _ in range(repeats)
    ]
    times = [r.cumulative_us / 1000 for r in runs]
    return HandlerImport(function, module, statistics.median(times), min(times), loads_local)
