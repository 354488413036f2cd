"""The extras pyproject.toml declares: each feature's own, ``all`` of them, and ``dev`` with everything."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement

from tests.install.lean_venv import ROOT

EXTRAS: dict[str, list[str]] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def extras_of_tether(requirements: list[str]) -> set[str]:
    return {extra for text in requirements if (req := Requirement(text)).name == "tether" for extra in req.extras}


def test_all_installs_every_feature_extra() -> None:
    features = set(EXTRAS) - {"all", "dev", "docs"}
    assert {"postgres", "server", "otel"} <= features
    assert extras_of_tether(EXTRAS["all"]) == features


def test_dev_installs_everything_so_that_the_readme_commands_need_nothing_else() -> None:
    assert extras_of_tether(EXTRAS["dev"]) == {"all", "docs"}
