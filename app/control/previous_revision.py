"""The image an undo goes back to: the deployment's previous revision, as `kubectl rollout undo` picks it.

A preview is synchronous, the revision history lives in the cluster: the first preview of an undo
starts one read of `revisions()` and says it is reading; the live confirmation's next refresh shows
the image. A read is remembered per (namespace, deployment, current revision), so a new revision
reads again and a steady room costs no cluster call. A failed read is a sentence, never silence.
"""

from __future__ import annotations

import asyncio

from app.sanitize import clean
from backends.base import Cluster, Deployment, Revision

Key = tuple[str, str, int]


def previous_image(revisions: list[Revision], current: int) -> str | None:
    """The image of the highest revision below `current` (None: there is none)."""
    older = [r for r in revisions if r.revision < current]
    return max(older, key=lambda r: r.revision).image if older else None


class PreviousRevisions:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._known: dict[Key, str] = {}
        self._reading: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def line(self, dep: Deployment | None, name: str) -> str:
        """The preview's sentence: '<name> image <now> → <previous> (revision N → M)' or why not yet."""
        if dep is None:
            return f"{name} back to its previous revision (deployment not seen yet)"
        key = (dep.namespace, dep.name, dep.revision)
        known = self._known.get(key)
        if known is None:
            self._start(key)
            return f"{name} back to its previous revision (now {dep.image}; reading the revision history…)"
        return f"{name} image {dep.image} → {known}"

    def _start(self, key: Key) -> None:
        if key in self._reading:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._reading.add(key)
        task = loop.create_task(self._read(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, key: Key) -> None:
        ns, name, current = key
        try:
            found = previous_image(await self.cluster.revisions(ns, name), current)
        except Exception as error:  # the sentence is shown in the preview
            self._known[key] = f"? (the revision history could not be read: {clean(str(error))})"
        else:
            self._known[key] = found if found is not None else "? (no previous revision: undo is refused)"
        finally:
            self._reading.discard(key)
