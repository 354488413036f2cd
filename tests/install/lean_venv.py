"""A virtual environment holding only tether's core dependencies, as ``pip install tether`` leaves one.

It is made from what this environment already has installed, without a network or a build: the
requirements of ``[project] dependencies`` in pyproject.toml, and theirs, found through their
installed metadata, are linked into a new venv's site-packages, and tether's sources are put on
its path with a ``.pth`` file. Nothing else is importable there, so whatever tether imports that
its core requirements do not bring fails as it would for a user.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import venv
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def core_requirements() -> list[str]:
    """``[project] dependencies``: what ``pip install tether`` installs with no extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def script_target(name: str = "tether") -> str:
    """The ``module:function`` that an installed console script runs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return str(project["scripts"][name])


def closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that these requirements pull in, theirs included (no extras unless asked)."""
    found: dict[str, metadata.Distribution] = {}
    pending = [(Requirement(text), "") for text in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        dist = metadata.distribution(requirement.name)
        found[name] = dist
        for text in dist.requires or []:
            child = Requirement(text)
            for wanted in requirement.extras or {""}:
                pending.append((child, wanted))
    return list(found.values())


def make(path: Path, *also: str) -> Path:
    """Make the lean environment at ``path``, with the requirements ``also`` besides; return its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    python = path / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()
    )  # fmt: skip
    for dist in closure([*core_requirements(), *also]):
        tops = {Path(str(file)).parts[0] for file in dist.files or [] if not str(file).startswith("..")}
        base = Path(str(dist.locate_file("")))
        for top in sorted(tops - {"__pycache__"}):
            target = site / top
            if not target.exists():
                target.symlink_to(base / top)
    (site / "tether-src.pth").write_text(str(ROOT / "src") + "\n")
    return python


def run(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run python code in the lean environment, with nothing of this one on its path."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, cwd=cwd, env=env, check=False, timeout=60
    )


def tether(python: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``tether ARGS`` in the lean environment, as its console script would."""
    module, function = script_target("tether").split(":")
    return run(
        python, f"import sys; sys.argv = {['tether', *args]!r}; from {module} import {function}; {function}()", cwd
    )


if __name__ == "__main__":  # python -m tests.install.lean_venv DIR: make one to try things in by hand
    print(make(Path(sys.argv[1])))
