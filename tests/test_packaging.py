"""pyproject.toml and environment.yml name the same dependencies; the Makefile has its targets."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import REPO

# conda names of PyPI packages where they differ
CONDA_NAMES = {"torch": "pytorch"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;@]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {CONDA_NAMES.get(_name(r), _name(r)): r for r in
              project["dependencies"] + project["optional-dependencies"]["lab"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        for item in (dep["pip"] if isinstance(dep, dict) else [dep]):
            have[_name(item)] = item
    missing = sorted(set(wanted) - set(have))
    assert not missing, f"environment.yml lacks {missing}"
    for name, req in wanted.items():
        bound = re.search(r">=\s*([\w.]+)", req)
        if bound:
            assert f">={bound.group(1)}" in have[name].replace(" ", ""), (
                f"{name}: pyproject says {req!r}, environment.yml says {have[name]!r}")


def test_makefile_has_the_documented_targets():
    text = (REPO / "Makefile").read_text()
    for target in ("setup", "lab", "test", "smoke", "bench", "release", "grade", "bench-grading"):
        assert re.search(rf"^{re.escape(target)}:", text, re.M), f"no `make {target}`"


def test_readme_quick_start_is_two_commands():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make lab", "make test"]
