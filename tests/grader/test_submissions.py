"""What crosses from a submission folder into grading: regular files only, the rest set aside."""

import os

import pytest

from grader import scratch, submissions


@pytest.fixture
def folder(tmp_path):
    """A submitted folder with a notebook, a data file, a subfolder and every kind of trap."""
    root = tmp_path / "submitted" / "alice" / "00_toy"
    (root / "sub").mkdir(parents=True)
    (root / "toy.ipynb").write_text("{}")
    (root / "sub" / "data.csv").write_text("1,2\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY")
    os.symlink(secret, root / "link.txt")
    os.symlink(tmp_path, root / "dirlink")
    os.mkfifo(root / "pipe")
    os.link(secret, root / "hard.txt")
    return root


def test_scan_accepts_only_regular_files(folder):
    """Are symlinks, FIFOs and hard links refused, each with its reason, and regular files kept?"""
    found = submissions.scan(folder)
    assert found.files == ["sub/data.csv", "toy.ipynb"]
    assert dict(found.refused) == {"dirlink": "a symbolic link", "hard.txt": "a hard link (2 names for one file)",
                                   "link.txt": "a symbolic link", "pipe": "a FIFO"}


def test_scan_copies_what_it_accepts_and_nothing_else(folder, tmp_path):
    """Does a scan with dest copy the regular files only, never what a link points to?"""
    dest = tmp_path / "copy"
    submissions.scan(folder, dest=str(dest), exclude=["*.ipynb"])
    copied = sorted(os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs)
    assert copied == ["sub/data.csv"]
    assert "CANARY" not in (dest / "sub" / "data.csv").read_text()


def test_scan_refuses_files_of_another_owner(folder):
    """With an owner given, is every entry that belongs to another uid refused?"""
    found = submissions.scan(folder, owner=os.geteuid() + 1)
    assert found.refused == [(".", f"the folder belongs to uid {os.geteuid()}, not to the student")]


def test_scan_of_a_linked_folder_fails(tmp_path, folder):
    """Is a submission folder that is itself a symlink refused before anything is read?"""
    os.symlink(folder, tmp_path / "linked")
    with pytest.raises(OSError):
        submissions.scan(tmp_path / "linked")


def test_guard_moves_refused_entries_aside_and_says_why(folder, tmp_path):
    """Does guard move every refused entry into the quarantine, keep the rest, and record the reasons?"""
    quarantine = tmp_path / "quarantine"
    notes = submissions.guard(str(folder), str(quarantine))
    assert len(notes) == 4 and all(n.startswith("alice/00_toy/") for n in notes)
    assert sorted(os.listdir(folder)) == ["sub", "toy.ipynb"]
    kept = quarantine / "alice" / "00_toy"
    assert os.path.islink(kept / "link.txt") and "a FIFO" in (kept / "REFUSED.txt").read_text()


def test_pre_convert_hook_drops_a_linked_notebook(tmp_path):
    """Does the hook drop a symlinked notebook from nbgrader's list, so it is graded as missing?"""
    root = tmp_path / "submitted" / "bob" / "00_toy"
    root.mkdir(parents=True)
    source = tmp_path / "source.ipynb"
    source.write_text("{}")
    os.symlink(source, root / "toy.ipynb")
    notebooks = [str(root / "toy.ipynb")]
    submissions.pre_convert_hook(str(tmp_path / "quarantine"))(notebooks=notebooks)
    assert notebooks == [] and not os.path.lexists(root / "toy.ipynb")


def test_change_time_is_the_servers(folder):
    """Is the submission time the latest change of the folder's entries, whatever their mtimes say?"""
    os.utime(folder / "toy.ipynb", (0, 0))  # a student can set mtimes, not ctimes
    found = submissions.scan(folder)
    assert submissions.change_time(found).year >= 2024


def test_sweep_removes_only_folders_of_dead_processes(tmp_path):
    """Does sweep remove a grading folder whose process has died, and keep a live one's?"""
    dead = tmp_path / "nbg-sbx-999999999-abc"
    dead.mkdir()
    alive = tmp_path / f"nbg-sbx-{os.getpid()}-abc"
    alive.mkdir()
    assert scratch.sweep(str(tmp_path)) == [str(dead)]
    assert alive.exists()
