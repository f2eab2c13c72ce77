"""The fields of one feature flag, each with its validation reason beside it.

`form_values` turns stored JSON into what the fields show, `build_config`
turns the fields back into JSON over the stored object (unknown fields
kept) and returns the reason for every field that is wrong. `FlagForm`
composes the fields and posts `FlagForm.Changed` on every edit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, RadioButton, RadioSet, Static, Switch, TextArea

from app.flags import validate_flag_config, validate_flag_name

FIELDS = ("name", "enabled", "environments", "userWhitelist", "percentage", "bucketing", "public")
SALTED_WARNING = "flag-salted: the seed's own flag service ignores it and buckets by user id alone."
NO_ENVIRONMENT = "[]"


@dataclass(frozen=True)
class FormValues:
    """What the fields hold, as typed."""

    enabled: bool = False
    environments: str = ""
    whitelist: str = ""
    percentage: str = ""
    bucketing: str = "seed"
    public: str = ""


def _list_text(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return NO_ENVIRONMENT if not value else ", ".join(value)
    return "" if value is None else json.dumps(value)


def form_values(raw: Mapping[str, Any] | None) -> FormValues:
    raw = raw or {}
    pct = raw.get("percentage")
    public = raw.get("public")
    wl = _list_text(raw.get("userWhitelist"))
    return FormValues(
        enabled=raw.get("enabled") is True,
        environments=_list_text(raw.get("environments")),
        whitelist="" if wl == NO_ENVIRONMENT else wl,
        percentage="" if pct is None else (f"{pct:g}" if isinstance(pct, (int, float)) and not isinstance(pct, bool) else json.dumps(pct)),
        bucketing="flag-salted" if raw.get("bucketing") == "flag-salted" else "seed",
        public="" if public is None else json.dumps(public, ensure_ascii=False),
    )


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number(text: str) -> int | float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def build_config(values: FormValues, base: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON to store (`base` with the fields applied) and field -> reason for what is wrong.

    A blank field removes a key the stored flag lacks anyway, so opening and
    saving an untouched flag changes nothing. Environments: blank means all
    environments (no key), `[]` means none.
    """
    out: dict[str, Any] = dict(base or {})
    errors: dict[str, str] = {}

    def put(key: str, value: Any, default: Any) -> None:
        if value is None or (key not in out and value == default):
            out.pop(key, None)
        else:
            out[key] = value

    put("enabled", values.enabled, False)
    envs = values.environments.strip()
    if envs == NO_ENVIRONMENT:
        out["environments"] = []
    else:
        put("environments", _split(envs) or None, None)
    put("userWhitelist", _split(values.whitelist), [])
    text = values.percentage.strip()
    if text:
        number = _number(text)
        if number is None:
            errors["percentage"] = "percentage must be a number from 0 to 100."
            out["percentage"] = text
        else:
            out["percentage"] = number
    else:
        put("percentage", 0, 0)
    put("bucketing", values.bucketing, "seed")
    text = values.public.strip()
    if text:
        try:
            out["public"] = json.loads(text)
        except ValueError as exc:
            where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            errors["public"] = f"public is not valid JSON ({msg}{where})."
    else:
        put("public", {}, {})
    for key, reason in validate_flag_config(out).items():
        errors.setdefault(key, reason)
    return out, errors


class FlagForm(Grid):
    """Label, field and reason per row; `name` only for a new flag."""

    DEFAULT_CSS = """
    FlagForm { grid-size: 3; grid-columns: 15 46 1fr; grid-rows: auto; grid-gutter: 0 1; height: auto; }
    FlagForm > Label { color: $text-muted; }
    FlagForm > .reason { height: auto; }
    FlagForm > .hint { color: $text-muted; height: auto; }
    FlagForm > .hint.-warn { color: $warning; }
    FlagForm Input, FlagForm TextArea { width: 1fr; }
    FlagForm #field-public { height: 4; }
    FlagForm RadioSet { layout: horizontal; border: none; padding: 0; height: 1; background: transparent; }
    FlagForm RadioSet > RadioButton { padding: 0 2 0 0; width: auto; }
    FlagForm Switch, FlagForm Switch:focus { border: none; padding: 0; height: 1; width: auto; }
    FlagForm > .state { color: $text-muted; }
    """

    class Changed(Message):
        """A field changed: the config it now makes and what is wrong with it."""

        def __init__(self, form: "FlagForm", config: dict[str, Any], errors: dict[str, str]) -> None:
            super().__init__()
            self.form = form
            self.config = config
            self.errors = errors

    def __init__(self, raw: Mapping[str, Any] | None, *, new: bool = False, name_value: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = dict(raw or {})
        self.new = new
        self.initial = form_values(raw)
        self.name_value = name_value
        self.errors: dict[str, str] = {}
        self.config: dict[str, Any] = dict(self.base)
        self._ready = False

    def compose(self) -> ComposeResult:
        v = self.initial
        if self.new:
            yield Label("name")
            yield Input(self.name_value, placeholder="flag name, e.g. new-checkout", id="field-name", compact=True)
            yield Static("", id="reason-name", classes="reason")
        yield Label("enabled")
        yield Switch(v.enabled, id="field-enabled", animate=False)
        yield Static("", id="reason-enabled", classes="reason state")
        yield Label("environments")
        yield Input(v.environments, placeholder="all environments (blank) · [] = none", id="field-environments",
                    compact=True)
        yield Static("", id="reason-environments", classes="reason")
        yield Label("userWhitelist")
        yield Input(v.whitelist, placeholder="user ids, comma separated", id="field-userWhitelist", compact=True)
        yield Static("", id="reason-userWhitelist", classes="reason")
        yield Label("percentage")
        yield Input(v.percentage, placeholder="0-100 (blank or 0: enabled decides)", id="field-percentage",
                    compact=True)
        yield Static("", id="reason-percentage", classes="reason")
        yield Label("bucketing")
        with RadioSet(id="field-bucketing", compact=True):
            yield RadioButton("seed", value=v.bucketing == "seed", id="bucketing-seed")
            yield RadioButton("flag-salted", value=v.bucketing == "flag-salted", id="bucketing-flag-salted")
        yield Static("", id="reason-bucketing", classes="reason")
        yield Label("public")
        yield TextArea(v.public, language=None, id="field-public", compact=True, soft_wrap=True)
        yield Static("", id="reason-public", classes="reason")

    def on_mount(self) -> None:
        self._ready = True
        self.recompute()

    # ------------------------------------------------------------ values

    @property
    def flag_name(self) -> str:
        return self.query_one("#field-name", Input).value.strip() if self.new else self.name_value

    def values(self) -> FormValues:
        pressed = self.query_one("#field-bucketing", RadioSet).pressed_button
        return FormValues(
            enabled=self.query_one("#field-enabled", Switch).value,
            environments=self.query_one("#field-environments", Input).value,
            whitelist=self.query_one("#field-userWhitelist", Input).value,
            percentage=self.query_one("#field-percentage", Input).value,
            bucketing="flag-salted" if pressed is not None and pressed.id == "bucketing-flag-salted" else "seed",
            public=self.query_one("#field-public", TextArea).text,
        )

    def set_base(self, raw: Mapping[str, Any] | None) -> None:
        """After a conflict: the fields keep what was typed, unknown fields come from `raw`."""
        self.base = dict(raw or {})
        self.recompute()

    def show_errors(self, errors: Mapping[str, str]) -> None:
        for key in FIELDS:
            if key == "name" and not self.new:
                continue
            reason = errors.get(key, "")
            if key == "bucketing" and not reason and self.config.get("bucketing") == "flag-salted":
                self.query_one("#reason-bucketing", Static).update(Content.styled(SALTED_WARNING, "$warning"))
                continue
            if key == "enabled" and not reason:
                on = self.config.get("enabled") is True
                reason_content = Content.styled("on" if on else "off", "bold $success" if on else "$text-muted")
                self.query_one("#reason-enabled", Static).update(reason_content)
                continue
            self.query_one(f"#reason-{key}", Static).update(Content.styled(reason, "$error"))
        extra = [r for k, r in errors.items() if k not in FIELDS]
        if extra:  # a problem with no field of its own (the whole object)
            self.query_one("#reason-enabled", Static).update(Content.styled(" ".join(extra), "$error"))

    def recompute(self) -> None:
        if not self._ready:
            return
        config, errors = build_config(self.values(), self.base)
        if self.new:
            try:
                validate_flag_name(self.flag_name)
            except ValueError as exc:
                errors = {"name": str(exc), **errors}
        self.config, self.errors = config, errors
        self.show_errors(errors)
        self.post_message(self.Changed(self, config, errors))

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(RadioSet.Changed)
    @on(TextArea.Changed)
    def _edited(self, event: Message) -> None:
        event.stop()
        self.recompute()
