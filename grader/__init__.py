"""Instructor-side grading tools that extend nbgrader for this course."""
