"""Regenerate release/ from source/ with nbgrader, or check that it is up to date.

    python -m grader.release           # nbgrader generate_assignment "*" --force
    python -m grader.release --check   # exit 1 if release/ differs from a fresh generation

The check generates into a temporary folder with a temporary gradebook, so it
never touches release/ or grader/gradebook.db. nbgrader's output is
byte-for-byte deterministic, so any difference means release/ is stale.
"""

import argparse
import filecmp
import os
import sys
import tempfile

from grader.course import ROOT, assignments, run_nbgrader


def generate(root=ROOT, release_dir=None, db_url=None):
    """Run `nbgrader generate_assignment "*" --force`, optionally elsewhere.

    `release_dir` and `db_url` redirect the release and the gradebook, so a
    check can generate without touching the course's own.
    """
    if not assignments(root):
        raise FileNotFoundError(
            f"expected assignments under {root}/source/<assignment>/*.ipynb, found none"
        )
    args = ["generate_assignment", "*", "--force"]
    if release_dir:
        args.append(f"--CourseDirectory.release_directory={release_dir}")
    if db_url:
        args.append(f"--db={db_url}")
    result = run_nbgrader(args, root)
    if result.returncode != 0:
        raise RuntimeError(
            f"nbgrader generate_assignment failed (exit {result.returncode}):\n{result.stderr}"
        )
    return result


def _files(folder):
    """Return the relative paths of all files under `folder`.

    JupyterLab's checkpoint folders are skipped: opening a release notebook
    writes one, and git ignores them.
    """
    found = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != ".ipynb_checkpoints"]
        found.update(os.path.relpath(os.path.join(dirpath, f), folder) for f in filenames)
    return found


def stale_files(root=ROOT):
    """Return a list of problems: release files that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = os.path.join(tmp, "release")
        generate(root, release_dir=fresh, db_url="sqlite:///" + os.path.join(tmp, "gradebook.db"))
        committed = os.path.join(root, "release")
        want, have = _files(fresh), _files(committed)
        problems = [f"missing from release/: {p}" for p in sorted(want - have)]
        problems += [f"not generated from source/: release/{p}" for p in sorted(have - want)]
        problems += [
            f"stale: release/{p}"
            for p in sorted(want & have)
            if not filecmp.cmp(os.path.join(fresh, p), os.path.join(committed, p), shallow=False)
        ]
        return problems


def main(argv=None):
    """Regenerate the release, or check it with --check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only check that release/ is up to date"
    )
    parser.add_argument("--root", default=ROOT, help="course root (default: this repository)")
    args = parser.parse_args(argv)
    if not args.check:
        generate(args.root)
        print(f"regenerated release/ for: {', '.join(assignments(args.root))}")
        return 0
    problems = stale_files(args.root)
    for problem in problems:
        print(problem)
    print(
        "release/ is stale: run `python -m grader.release`"
        if problems
        else "release/ is up to date"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
