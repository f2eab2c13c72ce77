"""Rollouts another controller drives (Flagger `Canary`, Argo `Rollout`): pure views and the exact
requests their own tools send. No I/O and no Textual here; `app/control/foreign.py` does the I/O."""
