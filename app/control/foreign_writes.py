"""What the room needs from a cluster to drive a Flagger Canary or an Argo Rollout.

The protocols live in `backends.base` with the others; this module names them for the
Flagger/Argo collaborators: `ObjectWrites` (patch any object or its subresource, a
`bytes` patch sent as it is, so the requests match the upstream CLIs' byte for byte;
the API server's proxy) and `EventWrites` (an Event on any object).
"""

from __future__ import annotations

from backends.base import EventWrites, ObjectWrites

__all__ = ["EventWrites", "ObjectWrites"]
