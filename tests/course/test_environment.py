"""Do environment.yml (conda, Binder) and pyproject.toml (pip) ask for the same things?"""
import re
import tomllib

import yaml


def requirement(spec):
    """'numpy>=1.26,<3' -> ('numpy', '>=1.26,<3')"""
    name, rest = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", spec).groups()
    return name.lower().replace("_", "-"), rest.replace(" ", "")


def test_environment_matches_pyproject(root):
    """Does every pip dependency (with the test extra) appear in environment.yml with the same range?"""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pip = dict(map(requirement, project["dependencies"] + project["optional-dependencies"]["test"]))
    env = yaml.safe_load((root / "environment.yml").read_text())
    conda, pip_lines = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_lines += dep["pip"]
        else:
            name, rest = requirement(dep)
            conda[name] = rest
    python = conda.pop("python")
    conda.pop("pip")
    assert conda == pip
    assert python == project["requires-python"]
    assert pip_lines == ["-e ."], "environment.yml installs this repository with pip"
