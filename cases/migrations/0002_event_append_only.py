"""The event log is append-only: the database itself refuses to change or delete a row."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION cases_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'cases_caseevent is append-only (% refused)', TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cases_event_no_update BEFORE UPDATE OR DELETE ON cases_caseevent
  FOR EACH ROW EXECUTE FUNCTION cases_event_append_only();
"""

# TRUNCATE (used by test flushes) is a statement, not a row operation, so it still works.
BACKWARD = """
DROP TRIGGER IF EXISTS cases_event_no_update ON cases_caseevent;
DROP FUNCTION IF EXISTS cases_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
