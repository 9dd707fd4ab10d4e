"""Generated history (`manage.py seed_history`): months of cases that walk the transition
table, written through the event writers and bulk-inserted, for dashboards and load.

Lives in the project package because it spans apps (grids, cases, dispatch, population,
evaluation); no app imports it. `staff` makes the accounts, `paths` walks one case through
the rulebook, `volume` decides when, where and what, `generate` writes it all.
"""
