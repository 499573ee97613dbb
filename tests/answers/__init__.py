"""Answers a learner really writes, wrong and right, one small file each: ``eNN/<what>.py``.

The first line of each file says what the check must answer, and why:

- ``# NOT YET naming "words", "more words": what the learner got wrong`` (every quoted
  phrase must appear in the NOT YET line), or
- ``# PASS: in which style it is right``.

``tests/test_exercise_eNN.py`` runs the exercise's check on every file here (:func:`answers.cases.cases`).
"""
