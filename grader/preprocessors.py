"""nbgrader preprocessors that close gaps in autograding and feedback.

* ResilientExecute: a kernel that dies or ignores interrupts no longer fails
  the whole submission; the cells that could not run score zero and say why.
  It uses the configured kernel manager (the course's is the confined
  grader.sandbox.SandboxKernelManager), caps a notebook's total output, and
  records every refusal (memory, CPU, output, kernel death) with its reason.
* RestoreMissingCells / ZeroRestoredCells: a graded cell deleted by the
  student is restored (nbgrader's OverwriteCells.add_missing_cells, with its
  placement bug fixed) and scores zero; a cell whose nbgrader metadata the
  gradebook does not know becomes an ordinary cell instead of failing the
  submission.
* HideHiddenTests: feedback shows failed tests and their messages but never
  the source of hidden tests.
"""

import json

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Integer, List, Unicode

from grader.verdicts import Verdicts, instructor_kind, verdict_outputs

METADATA_KEY = "grader"  # cell and notebook metadata written by these preprocessors


def _error(ename, evalue):
    """Return an error output that nbgrader scores as a failure."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _cell_name(cell, index):
    """Return the grade_id of a cell if it has one, else its position."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    return f"'{grade_id}'" if grade_id else f"#{index}"


def _bare_name(cell, index):
    """Return the grade_id of a cell, or 'cell N' (1-based)."""
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"


def _human_bytes(n):
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n / 2**20:g} MiB"


OUTPUT_TYPES = {"stream", "display_data", "update_display_data", "execute_result", "error"}


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
        help="Cap on the output a notebook's kernel may send, bytes; the rest is dropped.",
    ).tag(config=True)

    trusted_verdicts = Bool(
        True,
        help="Decide each autograded test cell in a clean worker process, on data fetched "
        "from the kernel (grader/verdicts.py), instead of trusting the kernel's outputs.",
    ).tag(config=True)

    trusted_verdict_assignments = List(
        Unicode(),
        ["*"],
        help="Assignments whose tests get trusted verdicts ('*': all). The others are "
        "scored from the kernel's outputs, as in stock nbgrader.",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute.__init__ passes kernel_manager_class=AsyncKernelManager as a
        # keyword, which beats the configuration; skip it so the configured manager is used
        super(Execute, self).__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        """Execute all cells; record an incident if the kernel stopped working."""
        self._incident = None
        self._refusals = []
        self._output_bytes = 0
        self._truncated = set()
        self._verdicts = None
        self._memory_limit = None
        assignment = (resources or {}).get("nbgrader", {}).get("assignment")
        allowed = self.trusted_verdict_assignments
        self._judge = self.trusted_verdicts and ("*" in allowed or assignment in allowed)
        nb.metadata.pop(METADATA_KEY, None)
        try:
            nb, resources = super().preprocess(nb, resources, km)
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
                where = f"in cell `{_bare_name(cell, index)}`"
                self._refuse(
                    f"memory limit of {_human_bytes(limit)} reached {where}"
                    if limit
                    else f"out of memory {where}"
                )
                return

    def process_message(self, msg, cell, cell_index):
        """Count the notebook's output and drop what exceeds max_output_bytes."""
        if msg.get("msg_type") in OUTPUT_TYPES:
            self._output_bytes += len(json.dumps(msg.get("content", {}), default=str))
            if self._output_bytes > self.max_output_bytes:
                if cell_index not in self._truncated:
                    self._truncated.add(cell_index)
                    limit = _human_bytes(self.max_output_bytes)
                    cell.outputs.append(
                        new_output(
                            "stream",
                            name="stdout",
                            text=f"\n[output dropped: the notebook's output limit of {limit} "
                            "was reached]\n",
                        )
                    )
                    self._refuse(
                        f"output limit of {limit} reached in cell `{_bare_name(cell, cell_index)}`"
                    )
                if msg["msg_type"] != "error":
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
            if self._judge and self._verdicts is None and any(map(self._is_test, self.nb.cells)):
                # started with the notebook, so that its imports and the instructor's cells it
                # runs itself overlap with the kernel's work
                self._verdicts = Verdicts(self)
            if self._judge and self._is_test(cell):
                # the test runs once, in the clean worker; only its calls to student code
                # run in the kernel
                cell.outputs = verdict_outputs(self._verdicts.judge(cell, index))
                return cell, resources
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            why = getattr(self.km, "death_reason", lambda name: None)(_bare_name(cell, index))
            reason = why or f"the kernel died while running cell {_cell_name(cell, index)}"
            if why:
                self._refuse(why)
        except CellTimeoutError:
            reason = (
                f"cell {_cell_name(cell, index)} ran past the {self.timeout} s "
                "limit and ignored the interrupt"
            )
        self._incident = reason
        self.shutdown_kernel = "immediate"
        self.log.error("Stopping execution: %s", reason)
        cell.outputs.append(_error("KernelStopped", reason))
        return cell, resources


class RestoreMissingCells(OverwriteCells):
    """OverwriteCells whose restoring of deleted graded cells works and tags them.

    With `add_missing_cells` on, nbgrader 0.9.6 puts a deleted graded cell
    back after the source cell before it, but raises KeyError (failing the
    whole submission) when that cell is a locked, ungraded one, e.g. a
    read-only demo cell just above a test. Here a restored cell goes after
    the nearest earlier source cell that the submission still has, and is
    tagged in its metadata so that ZeroRestoredCells can find it.
    """

    def preprocess(self, nb, resources):
        self._flags = None
        return super().preprocess(nb, resources)

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
        """Put each graded cell missing from `nb` back after its nearest surviving predecessor."""
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = source_nb.source_cells
        source_ids = [cell.name for cell in source_cells]
        max_scores = {cell.name: cell.max_score for cell in source_nb.grade_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        for position, name in enumerate(source_ids):
            present = {
                cell.metadata["nbgrader"]["grade_id"]: index
                for index, cell in enumerate(nb.cells)
                if "grade_id" in cell.metadata.get("nbgrader", {})
            }
            if name not in max_scores or name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", name)
            restored = self.missing_cell_transform(
                source_cells[position], max_scores[name], is_solution=name in solution_ids
            )
            before = [present[e] for e in source_ids[:position] if e in present]
            nb.cells.insert(before[-1] + 1 if before else 0, restored)
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
            and utils.is_grade(cell)
            and not utils.is_solution(cell)
        ):
            cell.outputs.append(_error("RestoredCell", self.message))
        return cell, resources


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden tests from feedback, and their source from tracebacks.

    The hidden region of each test cell is cut out with nbgrader's own
    ClearHiddenTests logic. An error in such a cell keeps its name and
    assertion message but loses the traceback, which quotes the hidden code.
    """

    def preprocess_cell(self, cell, resources, index):
        """Cut the hidden region; reduce its errors to 'Name: message'."""
        if self._remove_hidden_test_region(cell) and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
