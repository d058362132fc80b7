"""nbgrader's exchange, with the server's word on who submitted what, and when.

nbgrader's own collect trusts the student: it takes the submission time from
the folder name and timestamp.txt that the student's `nbgrader submit` wrote,
follows symbolic links in the submission while copying it, and only logs
"cheating attempt?" when a folder carries another student's name. Here, wired
from the course configuration (`c.ExchangeFactory.*`):

* SafeCollect accepts only what the named student owns: a folder under another
  student's name is refused loudly (collect exits with status 1 once the rest is
  collected), and inside a folder only regular files with one link, owned by
  that student, are copied (grader/submissions.py). The submission time is the
  server's: the latest change time (ctime) of the folder and its files, which no
  one can set back. A student who changes a submission later only makes it later.
* SafeSubmit leaves a submission readable by its owner and the instructor's
  group only (nbgrader makes it readable by anyone who learns its name).
* SafeReleaseAssignment makes the inbound folder sticky: students may add their
  submissions there but not list, rename or delete anyone else's.

The same configuration must reach the students' `nbgrader submit` (on a
JupyterHub, the system-wide /etc/jupyter/nbgrader_config.py) for SafeSubmit to
apply; the collect side does not depend on it.
"""

import os
import pwd
import shutil
import stat

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange import ExchangeError
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import parse_utc

from grader import submissions

SERVER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
IGNORED = ["timestamp.txt"]  # the student's own claim of time: replaced by the server's


def owner_name(uid):
    """Return the user name of `uid`, or 'uid N' when it has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class SafeCollect(ExchangeCollect):
    """Collect submissions by their owners' names and the server's times, regular files only."""

    def init_src(self):
        """Find each student's latest submission, by server time, among the folders they own.

        Folder names are read only for the student they claim (and checked against
        the owner): a malformed or forged name is one refusal, not a failed collect.
        """
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.inbound_path = os.path.join(self.root, self.coursedir.course_id, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        mode = os.stat(self.inbound_path).st_mode
        if mode & (stat.S_IROTH | stat.S_IRGRP) and not self.coursedir.groupshared:
            self.fail(f"{self.inbound_path} lets students list each other's submissions "
                      f"(mode {stat.filemode(mode)}); run `chmod 3733 {self.inbound_path}`")
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.refused = []
        student = self.coursedir.student_id or "*"
        marker = f"+{self.coursedir.assignment_id}+"
        by_student = {}
        for name in sorted(os.listdir(self.inbound_path)):
            claimed = name.split(marker, 1)[0] if marker in name else None
            if claimed is None or (student != "*" and claimed != student):
                continue
            record = self._record(os.path.join(self.inbound_path, name), claimed)
            if record is not None:
                by_student.setdefault(claimed, []).append(record)
        self.src_records = []
        for records in by_student.values():
            records.sort(key=lambda r: r["timestamp"], reverse=True)
            on_time = [r for r in records if self.duedate is None or r["timestamp"] <= self.duedate]
            chosen = on_time[0] if self.before_duedate and self.duedate and on_time else records[0]
            self.src_records.append(chosen)

    def _record(self, path, claimed):
        """Return the record of one inbound folder, or None (and a refusal) if it is not the student's."""
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            self._refuse(path, f"is {submissions.describe_mode(info.st_mode)}, not a folder")
            return None
        if self.check_owner and owner_name(info.st_uid) != claimed:
            self._refuse(path, f"is named for {claimed} but belongs to {owner_name(info.st_uid)}: "
                         "a submission planted under another student's name")
            return None
        try:
            found = submissions.scan(path, owner=info.st_uid if self.check_owner else None,
                                     exclude=IGNORED)
        except OSError as error:
            self._refuse(path, f"cannot be read ({error.strerror})")
            return None
        return {"username": claimed, "filename": os.path.basename(path), "scan": found, "uid": info.st_uid,
                "timestamp": parse_utc(submissions.change_time(found).strftime(SERVER_TIME_FORMAT))}

    def _refuse(self, path, reason):
        message = f"REFUSED {path}: {reason}"
        self.refused.append(message)
        self.log.error(message)

    def copy_files(self):
        """Copy each chosen submission's accepted files; refuse the rest loudly."""
        if not self.src_records:
            self.log.warning("No submissions of '%s' for course '%s' to collect",
                             self.coursedir.assignment_id, self.coursedir.course_id)
        for record in self.src_records:
            self._collect(record)
        if self.refused:
            raise ExchangeError(f"{len(self.refused)} submission(s) or file(s) refused:\n  "
                                + "\n  ".join(self.refused))

    def _collect(self, record):
        student, found = record["username"], record["scan"]
        src = os.path.join(self.inbound_path, record["filename"])
        dest = self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                          self.coursedir.assignment_id)
        for rel, reason in found.refused:
            self._refuse(os.path.join(src, rel), f"{reason}; not collected")
        if os.path.isdir(dest):
            existing = self.coursedir.get_existing_timestamp(dest)
            newer = existing is None or record["timestamp"] > existing
            if not (self.update and newer) and not (self.before_duedate and existing != record["timestamp"]):
                self.log.info("Submission already exists, use --update to update: %s %s",
                              student, self.coursedir.assignment_id)
                return
        staging = dest + ".collecting"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        submissions.scan(src, dest=staging, owner=record["uid"] if self.check_owner else None,
                         exclude=IGNORED)
        with open(os.path.join(staging, "timestamp.txt"), "w") as fh:
            fh.write(record["timestamp"].strftime(SERVER_TIME_FORMAT))
        if os.path.isdir(dest):
            self.log.info("Updating submission: %s %s", student, self.coursedir.assignment_id)
            shutil.rmtree(dest)
        else:
            self.log.info("Collecting submission: %s %s", student, self.coursedir.assignment_id)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.rename(staging, dest)


class SafeSubmit(ExchangeSubmit):
    """nbgrader submit, leaving the submission to its owner and the instructor's group."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        self.set_perms(dest, fileperms=0o640, dirperms=0o750)
        os.chmod(dest, 0o770)  # the instructor's group (inbound is setgid) may clear it later


class SafeReleaseAssignment(ExchangeReleaseAssignment):
    """nbgrader release_assignment, with an inbound folder students cannot list or rearrange."""

    def init_dest(self):
        super().init_dest()
        mode = 0o3733 if not self.coursedir.groupshared else 0o3773
        if os.stat(self.inbound_path).st_mode & 0o7777 != mode:
            os.chmod(self.inbound_path, mode)
