"""Item analysis: per assignment, how many students failed each graded test.

    python -m grader.item_analysis [ASSIGNMENT ...] [--root COURSE_ROOT]

Reads nbgrader's gradebook and writes, for each assignment,
grader/reports/item_analysis_<assignment>.csv and a bar chart
grader/reports/item_analysis_<assignment>.png. A test counts as failed when
its score (a manual score overrides the autograder's) is below its maximum;
submissions that were never graded (e.g. a notebook that is not valid JSON)
are left out.
"""

import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402

from grader.course import ROOT, course_directory  # noqa: E402

FIELDS = ("assignment", "notebook", "grade_id", "max_score", "graded", "failed", "failed_percent")


def analyse(gb, assignment):
    """Return one row per autograded cell of `assignment` with its failure count."""
    rows = []
    for notebook in gb.find_assignment(assignment).notebooks:
        for cell in notebook.grade_cells:
            if cell.cell_type != "code":
                continue
            graded = failed = 0
            for grade in cell.grades:
                if grade.auto_score is None and grade.manual_score is None:
                    continue
                graded += 1
                failed += grade.score < grade.max_score
            rows.append(
                {
                    "assignment": assignment,
                    "notebook": notebook.name,
                    "grade_id": cell.name,
                    "max_score": cell.max_score,
                    "graded": graded,
                    "failed": failed,
                    "failed_percent": round(100 * failed / graded, 1) if graded else 0.0,
                }
            )
    return rows


def plot(rows, assignment, path):
    """Save a horizontal bar chart of failures per test to `path`."""
    labels = [f"{r['notebook']}: {r['grade_id']}" for r in rows]
    fig, ax = plt.subplots(figsize=(8, 1 + 0.4 * max(len(rows), 1)))
    ax.barh(labels, [r["failed"] for r in rows], color="tab:red")
    ax.invert_yaxis()
    graded = max((r["graded"] for r in rows), default=0)
    ax.set_xlabel(f"students who failed the test (of {graded} graded)")
    ax.set_title(f"Item analysis: {assignment}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    """Write the item-analysis table and plot for each assignment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "assignments", nargs="*", help="assignments to analyse (default: all in the gradebook)"
    )
    parser.add_argument("--root", default=ROOT, help="course root (default: this repository)")
    args = parser.parse_args(argv)
    coursedir = course_directory(args.root)
    reports = os.path.join(coursedir.root, "grader", "reports")
    os.makedirs(reports, exist_ok=True)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        names = args.assignments or [a.name for a in gb.assignments]
        for assignment in names:
            rows = analyse(gb, assignment)
            table = os.path.join(reports, f"item_analysis_{assignment}.csv")
            with open(table, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=FIELDS)
                writer.writeheader()
                writer.writerows(rows)
            plot(rows, assignment, os.path.join(reports, f"item_analysis_{assignment}.png"))
            print(
                f"{assignment}: "
                + ", ".join(f"{r['grade_id']} failed by {r['failed']}/{r['graded']}" for r in rows)
            )
            print(f"  wrote {table} and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
