"""Reference data kept in each process until someone changes it anywhere.

Work calendars, categories and their policies change a few times a year in admin but are
read by every report and every deadline. A `SharedVersionCache` keeps what it loaded in
this process until a shared version (in the Django cache, i.e. Redis) changes; it reads
that version at most every `refresh_seconds`, so the hot path costs one monotonic().
A save or delete in this process forgets the value at once (even inside the transaction);
other processes reload within `refresh_seconds` of the commit.
"""

import logging
import threading
import uuid
from collections.abc import Callable
from time import monotonic
from typing import Any, Generic, TypeVar

from django.core.cache import cache
from django.db import connections, models, transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)
T = TypeVar("T")


class SharedVersionCache(Generic[T]):
    def __init__(
        self, name: str, load: Callable[[], T], refresh_seconds: Callable[[], float]
    ) -> None:
        self.name = name
        self.version_key = f"{name}:version"
        self._load = load
        self._refresh_seconds = refresh_seconds
        # One tuple, swapped whole, so threads never see half a state:
        # (value, version it was loaded under, next time to look at the version).
        self._state: tuple[T, object, float] | None = None
        # Set while this thread's open transaction has changed the data: until it ends,
        # get() reads the database (this transaction's view) and keeps nothing, so rows a
        # rollback undoes are never cached. Per thread, as Django's connections are.
        self._local = threading.local()

    def get(self) -> T:
        if getattr(self._local, "dirty", False):
            if connections[self._local.alias].in_atomic_block:
                return self._load()
            self.reset()  # the transaction is over (committed or rolled back)
        state, now = self._state, monotonic()
        if state is not None and now < state[2]:
            return state[0]
        version = self._shared_version()  # read before loading: a bump during it wins next time
        value = state[0] if state is not None and version == state[1] else self._load()
        self._state = (value, version, now + self._refresh_seconds())
        return value

    def reset(self) -> None:
        """Forget this process's copy; the next get() reloads."""
        self._state = None
        self._local.dirty = False

    def bump_version(self) -> None:
        """Tell every process to reload (call after changes made without signals)."""
        try:
            cache.set(self.version_key, uuid.uuid4().hex, timeout=None)
        except Exception:
            logger.exception("%s: version not bumped, other processes keep old data", self.name)

    def connect(self, *senders: type[models.Model]) -> None:
        """Invalidate on save/delete of these models; call from an AppConfig.ready().

        QuerySet.update() and bulk_create() send no signals: call bump_version() after them.
        """
        for sender in senders:
            for signal_name, signal in (("post_save", post_save), ("post_delete", post_delete)):
                signal.connect(
                    self._changed,
                    sender=sender,
                    weak=False,
                    dispatch_uid=f"{self.name}.{sender._meta.label}.{signal_name}",
                )

    def _shared_version(self) -> object:
        try:
            return cache.get(self.version_key)
        except Exception:  # cache down: reload from the database every interval instead
            logger.warning("%s: version unreadable from the cache", self.name, exc_info=True)
            return object()  # equal to nothing, so it forces a reload

    def _committed(self) -> None:
        self.bump_version()
        self.reset()

    def _changed(self, sender: Any, using: str = "default", **kwargs: Any) -> None:
        self.reset()  # this process sees its own change at once, even inside the transaction
        if connections[using].in_atomic_block:
            self._local.dirty, self._local.alias = True, using
        # Others only after commit: bumping earlier could let them reload the old rows and
        # then keep them as current.
        transaction.on_commit(self._committed, using=using)
