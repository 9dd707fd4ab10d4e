"""Writes that belong to what a case is: numbering, photos, the event log."""
