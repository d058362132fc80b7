"""nbgrader plugins for the course's grading policies."""

import math
from textwrap import dedent

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PerDayLatePenalty(LateSubmissionPlugin):
    """Deduct a percentage of a late notebook's score for every started day late.

    A notebook submitted within `grace_minutes` of the deadline is on time.
    After that, each started 24 hours costs `percent_per_day` percent of the
    notebook's score, and the penalty never exceeds the score.
    """

    percent_per_day = Float(
        10.0, help="Percent of the notebook's score deducted per started day late."
    ).tag(config=True)

    grace_minutes = Float(
        15.0, help=dedent("Minutes after the deadline that still count as on time.")
    ).tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        """Return the points to deduct from `score` for a submission this late."""
        late = total_seconds_late - 60 * self.grace_minutes
        if late <= 0:
            return 0.0
        days = math.ceil(late / 86400)
        penalty = min(score, score * self.percent_per_day / 100 * days)
        self.log.warning(
            "%s is %.1f h late (%d started day(s) after %g min grace): "
            "deducting %.2f of %.2f points",
            student_id,
            total_seconds_late / 3600,
            days,
            self.grace_minutes,
            penalty,
            score,
        )
        return penalty
