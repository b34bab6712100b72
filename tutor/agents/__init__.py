"""The tutor's turn pipeline: Diagnostician -> Planner -> Tutor -> leak guard.

Everything in this package is pure Python with no Django imports, so each
pedagogical rule is a plain unit test and the simulated-student harness can
run thousands of dialogues without a database. ``tutor.dialogue.actions``
loads the inputs from the database, calls ``pipeline.turn()`` and stores what
comes back.
"""
