"""Concrete colours for widgets that render Rich text (DataTable cells, logs).

Static widgets use Textual `Content` with `$success`-style variables and follow
the theme by themselves; Rich text needs real colours, taken from the App's
current theme variables.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.dom import DOMNode

from app.enums import HealthStatus, Level, Phase


@dataclass(frozen=True)
class Palette:
    ok: str = "#3FB950"
    bad: str = "#F85149"
    warn: str = "#D29922"
    info: str = "#39C5CF"
    primary: str = "#4C9AFF"
    text: str = "#D8DEE9"
    muted: str = "#8B949E"
    blue: str = "#4C9AFF"
    green: str = "#3FB950"
    canary: str = "#D29922"

    @classmethod
    def from_variables(cls, v: dict[str, str]) -> Palette:
        base = cls()

        def get(name: str, fallback: str) -> str:
            value = v.get(name, "")
            # Rich colours cannot carry an alpha suffix or an "auto" keyword.
            if not value.startswith("#"):
                return fallback
            return value[:7]

        return cls(
            ok=get("success", base.ok),
            bad=get("error", base.bad),
            warn=get("warning", base.warn),
            info=get("accent", base.info),
            primary=get("primary", base.primary),
            text=get("foreground", base.text),
            muted=get("secondary", base.muted),
            blue=get("blue-color", base.blue),
            green=get("green-color", base.green),
            canary=get("canary-color", base.canary),
        )

    @classmethod
    def of(cls, node: DOMNode) -> Palette:
        try:
            return cls.from_variables(node.app.theme_variables)
        except Exception:  # not mounted yet: defaults are fine
            return cls()

    def phase(self, phase: Phase) -> str:
        if phase is Phase.SUCCEEDED:
            return self.ok
        if phase is Phase.FAILED:
            return self.bad
        if phase in (Phase.PROGRESSING, Phase.PROMOTING, Phase.FINALISING):
            return self.info
        return self.text

    def level(self, level: Level) -> str:
        return {Level.INFO: self.text, Level.WARN: self.warn, Level.ERROR: self.bad}[level]

    def health(self, status: HealthStatus) -> str:
        return {HealthStatus.UP: self.ok, HealthStatus.STALE: self.warn, HealthStatus.DOWN: self.bad}[status]

    def colour(self, name: str) -> str:
        """A blue-green colour name to a display colour."""
        return {"blue": self.blue, "green": self.green}.get(name, self.text)
