"""nbgrader preprocessors that close gaps in autograding and feedback.

* ResilientExecute: a kernel that dies or ignores interrupts no longer fails
  the whole submission; the cells that could not run score zero and say why.
  It uses the configured kernel manager (the course's is the confined
  grader.sandbox.SandboxKernelManager), caps every byte a notebook's kernel
  sends, decides test cells outside the kernel (grader/verdicts.py), and
  records every refusal (memory, CPU, output, kernel death) with its reason.
* RestoreMissingCells / ZeroRestoredCells: the submission is rebuilt in the
  order of the instructor's canonical notebook (grader/canon.py): a deleted
  or moved instructor cell is put back in its place, a deleted graded cell
  scores zero, and a cell whose nbgrader metadata the gradebook does not know
  becomes an ordinary cell instead of failing the submission.
* HideHiddenTests: feedback shows failed tests and their messages but never
  the source of hidden tests, nor what student code printed after the hidden
  tests ran.
"""

import copy
import json
import os

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils as nbgrader_utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Integer, Unicode

from grader import canon
from grader.sandbox import (
    SandboxKernelManager,
    SandboxUnavailable,
    check_course_package,
    human_bytes,
)
from grader.verdicts import HIDDEN_MARK, VerdictError, Verdicts, instructor_kind, verdict_outputs

METADATA_KEY = "grader"  # cell and notebook metadata written by these preprocessors
UNCOUNTED = {"status", "execute_input"}  # kernel messages that carry nothing the student chose


class GradingEnvironmentError(SystemExit):
    """The grading environment is broken (not the submission): stop the whole run and say why.

    A SystemExit, so that nbgrader does not record it as one student's failed
    submission and go on to fail every other student the same way.
    """

    def __init__(self, reason):
        super().__init__(f"grading stopped, the grading environment is broken: {reason}")


def _error(ename, evalue):
    """Return an error output that nbgrader scores as a failure."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def course_package_path():
    """Return the folder of the course package `utils` that this process imports."""
    import utils

    return os.path.dirname(os.path.realpath(utils.__file__))


def cell_name(cell, index):
    """Return the grade_id of a cell, or 'cell N' (1-based)."""
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"


class ResilientExecute(Execute):
    """Execute a notebook, surviving kernels that die or ignore interrupts.

    nbgrader's Execute interrupts a cell that runs past `timeout`. When the
    kernel ignores the interrupt or dies, nbclient raises and nbgrader drops
    the whole submission. Here the failing cell gets an error output, every
    later code cell gets a 'NotRun' error (so graded ones score zero), the
    kernel is killed, and the reason is kept in the notebook metadata under
    'grader.incident' for the class summary.
    """

    max_output_bytes = Integer(
        8 * 2**20,
        help="Cap on everything a notebook's kernel may send (outputs, widget messages), "
        "bytes; the rest is dropped.",
    ).tag(config=True)

    trusted_verdicts = Bool(
        True,
        help="Decide each autograded test cell in a clean worker process, on data fetched "
        "from the kernel (grader/verdicts.py), instead of trusting the kernel's outputs.",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute.__init__ passes kernel_manager_class=AsyncKernelManager as a
        # keyword, which beats the configuration; skip it so the configured manager is used
        super(Execute, self).__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        """Execute all cells; record an incident if the kernel stopped working."""
        self._incident = None
        # the sanitize step (RestoreMissingCells) replaced the submission's own metadata
        self._refusals = list(nb.metadata.get(METADATA_KEY, {}).get("refusals", []))
        self._output_bytes = 0
        self._truncated = set()
        self._verdicts = None
        self._student_ran = False  # has any code the student wrote run in the kernel yet?
        self._memory_limit = None  # the kernel manager's, read while it exists
        self._canon = self._load_canon(resources) if self.trusted_verdicts else None
        if self._canon is not None and self.kernel_manager_class is SandboxKernelManager:
            try:  # once per run, before any student: the sandbox imports the grader's own utils
                check_course_package(self.config)
            except SandboxUnavailable as error:
                raise GradingEnvironmentError(str(error)) from None
        nb.metadata.pop(METADATA_KEY, None)
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except SandboxUnavailable as error:
            raise GradingEnvironmentError(f"the sandbox cannot start: {error}") from None
        finally:
            if self._verdicts is not None:
                self._verdicts.close()
        for index, cell in enumerate(nb.cells):
            self._check_memory(cell, index)
        meta = {}
        if self._incident:
            meta["incident"] = self._incident
        if self._refusals:
            meta["refusals"] = self._refusals
        if meta:
            nb.metadata[METADATA_KEY] = meta
        return nb, resources

    def _check_instructor_cell(self, cell, index):
        """Stop the run when an instructor's cell fails before any student code has run.

        Such a failure (the course's imports cell cannot import utils, a data
        file is missing) is the grading environment's, not the student's: it
        would hit every student alike, so no grade is recorded and the run
        stops, naming the cause. Once student code has run, an instructor
        cell that fails may be the student's doing, and is graded as usual.
        """
        if cell.cell_type != "code" or not cell.source.strip():
            return
        if instructor_kind(cell) != "locked":
            self._student_ran = True
            return
        if self._student_ran:
            return
        error = next((o for o in cell.outputs if o.get("output_type") == "error"), None)
        if error is None:
            return
        raise GradingEnvironmentError(
            f"the course's `{cell_name(cell, index)}` cell failed in the sandbox before any "
            f"student code ran: {error.get('ename')}: {error.get('evalue')} "
            f"({self._where_utils_is()})")

    def _where_utils_is(self):
        """Say where the kernel and the grader find the course package, for the error message."""
        probe = new_code_cell(
            "import importlib.util as _u\n"
            "_s = _u.find_spec('utils')\n"
            "print(list(_s.submodule_search_locations) if _s else 'no utils on its sys.path')")
        try:
            super().preprocess_cell(probe, {}, -1)
            seen = "".join(o.get("text", "") for o in probe.outputs).strip() or "nothing"
        except Exception as error:  # noqa: BLE001 -- only words for a message
            seen = f"unknown ({type(error).__name__})"
        return f"the kernel sees utils at {seen}, the grader imported {course_package_path()}"

    def _load_canon(self, resources):
        info = (resources or {}).get("nbgrader", {})
        if not info.get("db_url"):
            return None  # not run by nbgrader autograde: nothing to judge against
        try:
            with Gradebook(info["db_url"]) as gb:
                return canon.load(gb, self.config, info["assignment"], info["notebook"])
        except canon.CanonError as error:
            raise GradingEnvironmentError(str(error)) from None

    @staticmethod
    def _is_test(cell):
        # only a test cell whose source is the instructor's (restored from the gradebook)
        return instructor_kind(cell) == "test"

    def _refuse(self, reason):
        if reason not in self._refusals:
            self._refusals.append(reason)
            self.log.warning("Refused: %s", reason)

    def _check_memory(self, cell, index):
        """Record a MemoryError in a cell as the memory limit being reached."""
        limit = self._memory_limit
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "MemoryError":
                where = f"in cell `{cell_name(cell, index)}`"
                self._refuse(f"memory limit of {human_bytes(limit)} reached {where}" if limit
                             else f"out of memory {where}")
                return

    def count_output(self, msg, cell=None, cell_index=None):
        """Count a kernel message toward the notebook's cap; return False once past it."""
        if msg.get("msg_type") in UNCOUNTED:
            return True
        self._output_bytes += len(json.dumps(msg.get("content", {}), default=str))
        if self._output_bytes <= self.max_output_bytes:
            return True
        limit = human_bytes(self.max_output_bytes)
        where = cell_name(cell, cell_index) if cell is not None else "a test"
        if cell is not None and cell_index not in self._truncated:
            self._truncated.add(cell_index)
            cell.outputs.append(new_output("stream", name="stdout", text=(
                f"\n[output dropped: the notebook's output limit of {limit} was reached]\n")))
        self._refuse(f"output limit of {limit} reached in cell `{where}`")
        return False

    def process_message(self, msg, cell, cell_index):
        """Count every message the kernel sends (outputs, widget state) and drop what exceeds the cap."""
        if not self.count_output(msg, cell, cell_index) and msg["msg_type"] != "error":
            return None
        return super().process_message(msg, cell, cell_index)

    def preprocess_cell(self, cell, resources, index):
        """Execute one cell, or mark it as not run after an incident."""
        if self._incident is not None:
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [_error("NotRun", f"not run because {self._incident}")]
            return cell, resources
        try:
            if self._memory_limit is None and getattr(self.km, "confine", False):
                self._memory_limit = self.km.memory_limit
            if self._canon is not None and self._verdicts is None and any(map(self._is_test, self.nb.cells)):
                # started with the notebook, so that its imports and the instructor's cells it
                # runs itself overlap with the kernel's work
                self._verdicts = Verdicts(self, self._canon)
            if self._verdicts is not None and self._is_test(cell):
                # the test runs once, in the clean worker; only its calls to student code
                # run in the kernel
                verdict, stderr = self._verdicts.judge(cell, index)
                cell.outputs = verdict_outputs(verdict, stderr, hidden=HIDDEN_MARK in cell.source)
                return cell, resources
            cell, resources = super().preprocess_cell(cell, resources, index)
            self._check_instructor_cell(cell, index)
            return cell, resources
        except DeadKernelError:
            why = getattr(self.km, "death_reason", lambda name: None)(cell_name(cell, index))
            reason = why or f"the kernel died while running cell '{cell_name(cell, index)}'"
            if why:
                self._refuse(why)
        except CellTimeoutError:
            reason = (f"cell '{cell_name(cell, index)}' ran past the {self.timeout} s "
                      "limit and ignored the interrupt")
        except VerdictError as error:
            reason = f"the grader could not finish checking cell '{cell_name(cell, index)}': {error}"
            self._refuse(reason)
        self._incident = reason
        self.shutdown_kernel = "immediate"
        self.log.error("Stopping execution: %s", reason)
        cell.outputs.append(_error("KernelStopped", reason))
        return cell, resources


class RestoreMissingCells(OverwriteCells):
    """OverwriteCells that rebuilds the submission in the canonical notebook's order.

    nbgrader restores deleted graded cells only (and 0.9.6 raises KeyError,
    failing the whole submission, when the source cell above a deleted one is
    locked but ungraded). Here every instructor cell of the canonical notebook
    (grader/canon.py) is put back if it was deleted, and back in its place if
    it was moved; the student's own cells follow the instructor cell they
    followed in the submission. Restored cells are tagged, so that
    ZeroRestoredCells can give restored tests zero. What was put back is
    recorded as a refusal in the notebook's `grader` metadata, which replaces
    whatever the submission carried there.
    """

    def preprocess(self, nb, resources):
        self._flags = None
        nb.metadata.pop(METADATA_KEY, None)  # a student's forgery of the grader's notes
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            try:
                cells = canon.load(gb, self.config, self.assignment_id, self.notebook_id)
            except canon.CanonError as error:
                raise GradingEnvironmentError(str(error)) from None
        nb, resources = super().preprocess(nb, resources)
        refusals = self.canonical_order(nb, cells)
        if refusals:
            nb.metadata[METADATA_KEY] = {"refusals": refusals}
        return nb, resources

    def canonical_order(self, nb, cells):
        """Put every canonical cell in `nb`, in order; return what had to be put back."""
        known = {c.grade_id for c in cells}
        present, following, anchor, seen = {}, {None: []}, None, []
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in known and grade_id not in present:
                present[grade_id], anchor = cell, grade_id
                following[anchor] = []
                if not cell.metadata.get(METADATA_KEY, {}).get("restored"):
                    seen.append(grade_id)
            else:
                following[anchor].append(cell)
        restored, out = [], list(following[None])
        for c in cells:
            cell = present.get(c.grade_id)
            if cell is None:
                cell = copy.deepcopy(c.release)
                if c.kind in ("locked", "test"):
                    cell.source = c.source
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
                cell.metadata[METADATA_KEY] = {"restored": True}
                restored.append(c.grade_id)
            out.append(cell)
            out.extend(following.get(c.grade_id, []))
        nb.cells = out
        moved = seen != [c.grade_id for c in cells if c.grade_id in seen]
        refusals = []
        locked = [g for g in restored if next(c for c in cells if c.grade_id == g).kind == "locked"]
        if locked:
            refusals.append("the instructor's cells " + ", ".join(f"`{g}`" for g in locked[:8])
                            + (" and more" if len(locked) > 8 else "")
                            + " were deleted from the submission and have been put back")
        if moved:
            refusals.append("the instructor's cells were reordered in the submission and have been "
                            "put back in their order (your cells follow the cell they followed)")
        for message in refusals:
            self.log.warning("%s/%s: %s", self.assignment_id, self.notebook_id, message)
        return refusals

    def _gradebook_flags(self):
        """Return {grade_id: (grade, solution, locked)} of the source notebook, from the gradebook."""
        if self._flags is None:
            source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
            graded = {c.name for c in source_nb.grade_cells}
            solutions = {c.name for c in source_nb.solution_cells}
            self._flags = {c.name: (c.name in graded, c.name in solutions, bool(c.locked))
                           for c in source_nb.source_cells}
        return self._flags

    def preprocess_cell(self, cell, resources, cell_index):
        """Overwrite the cell as nbgrader does, but with the gradebook's word on what it is.

        nbgrader keeps a submitted cell's `grade` and `solution` flags, and
        its `locked` flag when nbgrader's is_locked agrees anyway; here all three
        are set from the gradebook first, so a test relabelled by the student
        is still a locked test (and its source is restored). nbgrader deletes
        an unknown grade_id but keeps the rest of the metadata, and 0.9.6 then
        fails the whole submission with KeyError in add_missing_task_cells:
        such a cell (copied from another notebook, or forged to look like a
        test) is the student's, so it loses its metadata and runs as an
        ordinary cell. After this, grader.verdicts.instructor_kind can trust
        the metadata.
        """
        cell.metadata.pop(METADATA_KEY, None)  # only the grader tags cells
        meta = cell.metadata.get("nbgrader", {})
        flags = self._gradebook_flags().get(meta.get("grade_id"))
        if flags is not None:
            meta["grade"], meta["solution"], meta["locked"] = flags
            if meta["grade"]:
                meta.setdefault("points", 0)  # nbgrader resets it to the gradebook's
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata["nbgrader"]:
            self.log.warning("A cell with nbgrader metadata the gradebook does not know "
                             "is graded as an ordinary cell")
            del cell.metadata["nbgrader"]
        return cell, resources

    def missing_cell_transform(self, source_cell, max_score, is_solution=False, is_task=False):
        """Restore the cell as nbgrader does, and tag it in its metadata."""
        cell = super().missing_cell_transform(source_cell, max_score, is_solution, is_task)
        cell.metadata[METADATA_KEY] = {"restored": True}
        return cell

    def add_missing_grade_cells(self, nb, resources):
        """Put each graded cell missing from `nb` back (canonical_order then moves it to its place)."""
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        max_scores = {cell.name: cell.max_score for cell in source_nb.grade_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        present = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
        for source_cell in source_nb.source_cells:
            name = source_cell.name
            if name in max_scores and name not in present:
                self.log.warning("Missing grade cell %s encountered, adding to notebook", name)
                nb.cells.append(self.missing_cell_transform(
                    source_cell, max_scores[name], is_solution=name in solution_ids))
        return nb, resources


class ZeroRestoredCells(NbGraderPreprocessor):
    """Give restored autograded test cells an error output, so they score zero."""

    message = Unicode(
        "this graded cell was deleted from the submission; nbgrader restored it and it scores zero",
        help="The reason shown in the restored cell's output and the feedback.",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        """Append a 'RestoredCell' error to a restored autograded test cell."""
        restored = cell.metadata.get(METADATA_KEY, {}).get("restored", False)
        if (
            restored
            and cell.cell_type == "code"
            and nbgrader_utils.is_grade(cell)
            and not nbgrader_utils.is_solution(cell)
        ):
            cell.outputs.append(_error("RestoredCell", self.message))
        return cell, resources


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden tests from feedback, and what student code printed once they had run.

    Only the instructor's test cells are cut (a student's cell may hold any
    text, markers included): the hidden region goes, with nbGrader's own
    ClearHiddenTests logic, and an error in such a cell keeps its name and
    message but loses the traceback, which quotes the hidden code. Once a test
    with hidden parts has called the student's functions, those functions have
    seen its inputs: the outputs of every later cell that ran in the kernel
    are replaced by a note, so they cannot carry the hidden inputs into the
    feedback. The autograded notebook, which only instructors see, keeps them.
    """

    note = Unicode(
        "[this cell's output is not shown in feedback: it ran after hidden tests had called "
        "your code]\n",
        help="What replaces the outputs of cells that ran after the first hidden test.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        self._after_hidden = False
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        """Cut the hidden region of tests; hide later kernel outputs."""
        if instructor_kind(cell) == "test":
            if self._remove_hidden_test_region(cell):
                self._after_hidden = True
                for output in cell.get("outputs", []):
                    if output.output_type == "error":
                        output.traceback = [f"{output.ename}: {output.evalue}"]
        elif cell.cell_type == "code" and self._after_hidden and cell.get("outputs"):
            cell.outputs = [new_output("stream", name="stdout", text=self.note)]
        return cell, resources
