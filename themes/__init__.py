"""The room's colour themes and stylesheet.

Three Textual `Theme` objects: `dark` (the default), `light` and `wall`, a
high-contrast theme for a monitor across the room (pure black and white, no
subtle greys, saturated status colours). `room.tcss` is the one stylesheet;
theme-specific rules hang off the `-theme-<name>` class Textual puts on the App.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

STYLESHEET = Path(__file__).with_name("room.tcss")

DARK = Theme(
    name="dark",
    primary="#4C9AFF",
    secondary="#8B949E",
    accent="#39C5CF",
    success="#3FB950",
    warning="#D29922",
    error="#F85149",
    foreground="#D8DEE9",
    background="#0D1117",
    surface="#161B22",
    panel="#1F2630",
    dark=True,
    variables={
        "blue-color": "#4C9AFF",
        "green-color": "#3FB950",
        "canary-color": "#D29922",
        "footer-key-foreground": "#39C5CF",
    },
)

LIGHT = Theme(
    name="light",
    primary="#0969DA",
    secondary="#57606A",
    accent="#0550AE",
    success="#1A7F37",
    warning="#9A6700",
    error="#CF222E",
    foreground="#1F2328",
    background="#F6F8FA",
    surface="#FFFFFF",
    panel="#E6EAEF",
    dark=False,
    variables={
        "blue-color": "#0969DA",
        "green-color": "#1A7F37",
        "canary-color": "#9A6700",
        "footer-key-foreground": "#0550AE",
    },
)

WALL = Theme(
    name="wall",
    primary="#00FFFF",
    secondary="#FFFFFF",
    accent="#00FFFF",
    success="#00FF00",
    warning="#FFFF00",
    error="#FF2020",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#000000",
    boost="#000000",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
    variables={
        "blue-color": "#00FFFF",
        "green-color": "#00FF00",
        "canary-color": "#FFFF00",
        "foreground-muted": "#FFFFFF",
        "text-muted": "#FFFFFF",
        "border": "#FFFFFF",
        "border-blurred": "#FFFFFF",
        "footer-background": "#000000",
        "footer-key-foreground": "#FFFF00",
        "footer-description-foreground": "#FFFFFF",
        "block-cursor-background": "#FFFFFF",
        "block-cursor-foreground": "#000000",
        "block-cursor-blurred-background": "#FFFFFF",
        "block-cursor-blurred-foreground": "#000000",
        "scrollbar": "#FFFFFF",
        "scrollbar-background": "#000000",
    },
)

THEMES: dict[str, Theme] = {t.name: t for t in (DARK, LIGHT, WALL)}
DEFAULT = "dark"


def names() -> list[str]:
    """The theme names a user may pass (`--theme`)."""
    return list(THEMES)


def check(name: str) -> str:
    """Return `name` if it is a known theme, else raise ValueError with one clear sentence."""
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}: choose one of {', '.join(names())}")
    return name
