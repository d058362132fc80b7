"""The course's nbgrader configuration; the repository root is the course root.

Everything grading produces (submissions, autograded notebooks, feedback, the
gradebook, the exchange, LMS downloads, exports) lives under grader/ and is
git-ignored by grader/.gitignore. Paths are absolute, so the configuration
means the same thing whichever folder loads it.

Change the settings an instructor is likely to tune here:
  * PER_CELL_TIMEOUT: seconds one cell may run while autograding/validating.
  * LATE_PERCENT_PER_DAY, LATE_GRACE_MINUTES: the late-penalty policy.
  * CONFINE, MEMORY_LIMIT, CPU_SECONDS: how student code is confined while
    autograding (grader/sandbox.py; see grader/NOTES.md, "Confinement").
    CONFINE = False grades unconfined: only if you accept that student code
    then runs with your rights (it can read source/ and rewrite the gradebook).
"""

import os
import sys

GRADER = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(GRADER)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # so that the grader.* preprocessors and plugins import

from nbconvert.preprocessors import (  # noqa: E402
    ClearMetadataPreprocessor,
    CSSHTMLHeaderPreprocessor,
)
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from grader import gradebook, integrity, sandbox, scratch, submissions  # noqa: E402
from grader.plugins import PerDayLatePenalty  # noqa: E402
from grader.preprocessors import (  # noqa: E402
    HideHiddenTests,
    ResilientExecute,
    RestoreMissingCells,
    ZeroRestoredCells,
)

PER_CELL_TIMEOUT = 120  # training cells take up to ~20 s on a laptop; 6x headroom
LATE_PERCENT_PER_DAY = 10  # of the notebook's score, per started day late
LATE_GRACE_MINUTES = 15  # submissions this close to the deadline are on time
CONFINE = True  # run student code in a bubblewrap sandbox while autograding
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space per process in the sandbox
CPU_SECONDS = 600  # CPU seconds per process in the sandbox (a whole notebook)
# The gradebook: empty for SQLite in grader/gradebook.db (one instructor, one machine), or a
# PostgreSQL URL such as "postgresql://grader@dbhost/course" when several people grade
# (grader/gradebook.py). The environment variable NN_COURSE_DB_URL overrides it.
GRADEBOOK_URL = ""

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

# Layout: source/ and release/ at the root, everything generated under grader/.
c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "neural-networks"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "grader/submitted"
c.CourseDirectory.autograded_directory = "grader/autograded"
c.CourseDirectory.feedback_directory = "grader/feedback"
c.CourseDirectory.solution_directory = "grader/solution"
c.CourseDirectory.db_url = gradebook.url(GRADEBOOK_URL, "sqlite:///" + os.path.join(GRADER, "gradebook.db"))
# Every instructor command says which gradebook it uses, and stops if it cannot reach it.
gradebook.announce(c.CourseDirectory.db_url, sys.argv)
# A new gradebook is stamped with nbgrader's schema revision read here, not by an `alembic` subprocess.
gradebook.stamp_in_process()
c.Exchange.root = os.path.join(GRADER, "exchange")
c.Exchange.timezone = "UTC"
c.ZipCollectApp.downloaded_directory = "grader/downloaded"
c.CsvExportPlugin.to = os.path.join(GRADER, "grades.csv")

# Release: a header on every student notebook, saying how to work in it (the
# maintainers' "generated, do not edit" is in the README; CI checks release/ is fresh).
c.IncludeHeaderFooter.header = os.path.join(GRADER, "release_header.ipynb")

# LMS archives (Blackboard style):
#   <anything>_<student>_attempt_<YYYY-MM-DD-HH-MM-SS>_<notebook>.ipynb
c.FileNameCollectorPlugin.named_regexp = (
    r".*_(?P<student_id>[A-Za-z0-9]+)_attempt_"
    r"(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)_(?P<file_id>.+)"
)

# Execution, for autograde and validate alike.
c.Execute.timeout = PER_CELL_TIMEOUT
c.Execute.interrupt_on_timeout = True
c.Execute.shutdown_kernel = "immediate"  # kernel state is discarded anyway; saves ~0.8 s a notebook

# Confinement (grader/sandbox.py): every autograded kernel runs in bubblewrap,
# without network, seeing only /usr, Python, `utils` and its own scratch copy.
c.ResilientExecute.kernel_manager_class = sandbox.SandboxKernelManager
c.SandboxKernelManager.confine = CONFINE
c.SandboxKernelManager.memory_limit = MEMORY_LIMIT
c.SandboxKernelManager.cpu_seconds = CPU_SECONDS
c.SandboxKernelManager.readonly_paths = sandbox.package_paths("utils")
# Trusted verdicts (grader/verdicts.py): every autograded test cell is decided in
# a clean worker process, on data fetched from the kernel, so that a patched numpy
# or a lying return value cannot turn a failure into a pass.
c.ResilientExecute.trusted_verdicts = True
if "autograde" in sys.argv[1:3]:
    scratch.stop_on_sigterm()  # a stopped run removes its sandbox folders too
    if CONFINE:
        try:
            sandbox.preflight()
        except sandbox.SandboxUnavailable as error:
            raise SystemExit(f"nbgrader autograde: refusing to grade unconfined. {error}") from None

# Autograde: restore deleted graded cells (they then score zero), survive
# hanging and crashing kernels, and apply the late policy.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreMissingCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    ResilientExecute,
    ZeroRestoredCells,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    integrity.GradebookJournal,
    AssignLatePenalties,
    CheckCellMetadata,
]
# Gradebook integrity (grader/integrity.py): journal what the grader writes,
# check before, between and after submissions that nothing else changed it.
integrity.install(c, c.CourseDirectory.db_url, logs=os.path.join(GRADER, "logs"))
_guard = submissions.pre_convert_hook(os.path.join(GRADER, "quarantine"))


def _before_each_submission(**submission):
    """Only regular files reach nbgrader (grader/submissions.py); the gradebook is as we left it."""
    _guard(**submission)
    integrity.pre_convert_hook(**submission)


c.Autograde.pre_convert_hook = _before_each_submission
c.AssignLatePenalties.plugin_class = PerDayLatePenalty
c.PerDayLatePenalty.percent_per_day = LATE_PERCENT_PER_DAY
c.PerDayLatePenalty.grace_minutes = LATE_GRACE_MINUTES

# Feedback: show failed tests and their messages, never hidden test source, and no
# HTML or script that a student's output could run in a reader's browser.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
c.HTMLExporter.sanitize_html = True

# The exchange (grader/exchange.py): submissions are taken by their owners' names and
# the server's times, regular files only, and students cannot read each other's.
c.ExchangeFactory.collect = "grader.exchange.SafeCollect"
c.ExchangeFactory.submit = "grader.exchange.SafeSubmit"
c.ExchangeFactory.release_assignment = "grader.exchange.SafeReleaseAssignment"
c.ExchangeSubmit.add_random_string = True  # names no one can guess
c.CourseDirectory.groupshared = False  # with True, inbound is readable by the group
