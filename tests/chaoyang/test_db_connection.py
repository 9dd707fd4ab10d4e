"""fetch_prepared on a connection the server dropped (its own module: it needs a real
transaction, not the module-wide demo data of test_db.py)."""

import pytest


@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_fails_once_and_is_replaced(territory: None) -> None:
    """As with Django's own cursors: the error comes out as django.db's and marks the
    connection, and the end of the request replaces it."""
    import psycopg
    from django.db import OperationalError, connection

    from chaoyang.db import fetch_prepared

    assert fetch_prepared("SELECT 1", []) == [(1,)]
    s = connection.settings_dict
    dsn = f"host={s['HOST']} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"
    pid = connection.connection.info.backend_pid
    with psycopg.connect(dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(OperationalError):
        fetch_prepared("SELECT 1", [])
    connection.close_if_unusable_or_obsolete()  # what request_finished does
    assert fetch_prepared("SELECT 1", []) == [(1,)]
