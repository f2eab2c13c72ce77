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

from app import safejson
from app.flags import validate_flag_config, validate_flag_name
from app.sanitize import clean, clean_json, is_clean
from widgets.glyph_radio import GlyphRadioButton

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


def _json_text(value: Any) -> str:
    """A stored value as JSON a user can read and edit: exact, and escaped where the terminal is concerned."""
    try:
        return clean_json(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return clean(repr(value))


def _plain_item(v: Any) -> bool:
    return isinstance(v, str) and bool(v) and v == v.strip() and "," not in v and is_clean(v)


def _list_text(value: Any) -> str:
    """`a, b` for a list of plain strings; the stored JSON as it is for anything else (never reshaped)."""
    if value is None:
        return ""
    if isinstance(value, list) and all(_plain_item(v) for v in value):
        return NO_ENVIRONMENT if not value else ", ".join(value)
    return _json_text(value)


def form_values(raw: Mapping[str, Any] | None) -> FormValues:
    """What each field shows for the stored JSON: the stored value as it is, even when its type is wrong."""
    raw = raw or {}
    pct = raw.get("percentage")
    public = raw.get("public")
    wl = _list_text(raw.get("userWhitelist"))
    return FormValues(
        enabled=raw.get("enabled") is True,
        environments=_list_text(raw.get("environments")),
        whitelist="" if wl == NO_ENVIRONMENT else wl,
        percentage="" if pct is None else _json_text(pct),
        bucketing="flag-salted" if raw.get("bucketing") == "flag-salted" else "seed",
        public="" if public is None else _json_text(public),
    )


def _looks_like_json(text: str) -> bool:
    return text[:1] in ("[", '"', "{") or text in ("null", "true", "false")


def _json_problem(field: str, error: str) -> str:
    return f"{field} is {error}" if error.startswith("not valid JSON") else f"{field} is not valid JSON: {error}"


def _list_value(field: str, text: str, errors: dict[str, str]) -> Any:
    """A typed list: `a, b` (comma separated) or JSON; JSON that is not a list stays what it is (never split)."""
    if not _looks_like_json(text):
        return [part.strip() for part in text.split(",") if part.strip()]
    parsed = safejson.loads(text)
    if not parsed.ok:
        errors[field] = f"{_json_problem(field, parsed.error)}; or type values separated by commas."
        return text
    return parsed.value


def _json_value(field: str, text: str, errors: dict[str, str]) -> Any:
    parsed = safejson.loads(text)
    if not parsed.ok:
        errors[field] = f"{_json_problem(field, parsed.error)}."
        return text
    return parsed.value


#: JSON field -> the `FormValues` attribute that holds it.
_ATTRS = {
    "enabled": "enabled",
    "environments": "environments",
    "userWhitelist": "whitelist",
    "percentage": "percentage",
    "bucketing": "bucketing",
    "public": "public",
}


def touched_fields(values: FormValues, initial: FormValues | None) -> set[str]:
    """JSON fields whose form value differs from what the form first showed (all of them without `initial`)."""
    if initial is None:
        return set(_ATTRS)
    return {key for key, attr in _ATTRS.items() if getattr(values, attr) != getattr(initial, attr)}


def build_config(
    values: FormValues, base: Mapping[str, Any] | None, initial: FormValues | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON to store (`base` with the fields applied) and field -> reason for what is wrong.

    With `initial` (what the form first showed), a field the user did not
    touch keeps its stored value exactly, whatever its type: nothing is
    rewritten, coerced or split behind the user's back. A blank field removes
    a key the stored flag lacks anyway, so opening and saving an untouched flag
    changes nothing. Environments: blank means all environments (no key), `[]`
    means none. The reasons cover every field, touched or not.
    """
    out: dict[str, Any] = dict(base or {})
    errors: dict[str, str] = {}
    touched = touched_fields(values, initial)

    def put(key: str, value: Any, default: Any) -> None:
        if key not in touched:
            return
        if value is None or (key not in out and value == default):
            out.pop(key, None)
        else:
            out[key] = value

    put("enabled", values.enabled, False)
    if "environments" in touched:
        envs = values.environments.strip()
        if envs == NO_ENVIRONMENT:
            out["environments"] = []
        else:
            put("environments", (_list_value("environments", envs, errors) or None) if envs else None, None)
    if "userWhitelist" in touched:
        wl = values.whitelist.strip()
        put("userWhitelist", _list_value("userWhitelist", wl, errors) if wl else [], [])
    text = values.percentage.strip()
    if "percentage" in touched and not text:
        put("percentage", 0, 0)
    elif "percentage" in touched:
        parsed = safejson.loads(text)
        if not parsed.ok or isinstance(parsed.value, bool) or not isinstance(parsed.value, (int, float)):
            errors["percentage"] = f"percentage must be a number from 0 to 100, not {text[:24]}."
            out["percentage"] = text
        else:
            out["percentage"] = parsed.value
    put("bucketing", values.bucketing, "seed")
    if "public" in touched:
        text = values.public.strip()
        put("public", _json_value("public", text, errors) if text else {}, {})
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
    FlagForm.-narrow { grid-columns: 13 1fr 1fr; }
    """

    class Changed(Message):
        """A field changed: the config it now makes and what is wrong with it."""

        def __init__(self, form: FlagForm, config: dict[str, Any], errors: dict[str, str]) -> None:
            super().__init__()
            self.form = form
            self.config = config
            self.errors = errors

    def __init__(
        self, raw: Mapping[str, Any] | None, *, new: bool = False, name_value: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.base = dict(raw or {})
        self.new = new
        self.initial = form_values(raw)
        self.name_value = name_value
        self.errors: dict[str, str] = {}  # what blocks saving: fields the user changed, and the name
        self.stored_errors: dict[str, str] = {}  # untouched fields whose stored value is invalid (kept as stored)
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
        yield Input(
            v.environments, placeholder="all environments (blank) · [] = none", id="field-environments", compact=True
        )
        yield Static("", id="reason-environments", classes="reason")
        yield Label("userWhitelist")
        yield Input(v.whitelist, placeholder="user ids, comma separated", id="field-userWhitelist", compact=True)
        yield Static("", id="reason-userWhitelist", classes="reason")
        yield Label("percentage")
        yield Input(
            v.percentage, placeholder="0-100 (blank or 0: enabled decides)", id="field-percentage", compact=True
        )
        yield Static("", id="reason-percentage", classes="reason")
        yield Label("bucketing")
        with RadioSet(id="field-bucketing", compact=True):
            yield GlyphRadioButton("seed", value=v.bucketing == "seed", id="bucketing-seed")
            yield GlyphRadioButton("flag-salted", value=v.bucketing == "flag-salted", id="bucketing-flag-salted")
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

    def on_resize(self) -> None:
        self.set_class(self.size.width < 110, "-narrow")

    def set_base(self, raw: Mapping[str, Any] | None) -> None:
        """After a conflict: the fields keep what was typed; untouched fields and unknown fields come from `raw`."""
        touched = touched_fields(self.values(), self.initial)
        self.base = dict(raw or {})
        fresh = form_values(raw)
        self._ready = False  # one recompute at the end, not one per field
        inputs = {"environments": "environments", "userWhitelist": "whitelist", "percentage": "percentage"}
        for key, attr in inputs.items():
            if key not in touched:
                self.query_one(f"#field-{key}", Input).value = getattr(fresh, attr)
        if "enabled" not in touched:
            self.query_one("#field-enabled", Switch).value = fresh.enabled
        if "public" not in touched:
            self.query_one("#field-public", TextArea).text = fresh.public
        if "bucketing" not in touched:
            self.query_one(f"#bucketing-{fresh.bucketing}", RadioButton).value = True
        self.initial = FormValues(
            **{attr: getattr(fresh if key not in touched else self.initial, attr) for key, attr in _ATTRS.items()}
        )
        self._ready = True
        self.call_after_refresh(self.recompute)

    def show_errors(self, errors: Mapping[str, str]) -> None:
        for key in FIELDS:
            if key == "name" and not self.new:
                continue
            reason = errors.get(key, "")
            if not reason and key in self.stored_errors:
                stored = Content.assemble(
                    ("stored value invalid, kept unless you change it: ", "bold $error"),
                    (clean(self.stored_errors[key]), "$error"),
                )
                self.query_one(f"#reason-{key}", Static).update(stored)
                continue
            if key == "bucketing" and not reason and self.config.get("bucketing") == "flag-salted":
                self.query_one("#reason-bucketing", Static).update(Content.styled(SALTED_WARNING, "$warning"))
                continue
            if key == "enabled" and not reason:
                on = self.config.get("enabled") is True
                reason_content = Content.styled("on" if on else "off", "bold $success" if on else "$text-muted")
                self.query_one("#reason-enabled", Static).update(reason_content)
                continue
            self.query_one(f"#reason-{key}", Static).update(Content.styled(clean(reason), "$error"))
        extra = [r for k, r in errors.items() if k not in FIELDS]
        if extra:  # a problem with no field of its own (the whole object)
            self.query_one("#reason-enabled", Static).update(Content.styled(clean(" ".join(extra)), "$error"))

    def recompute(self) -> None:
        if not self._ready:
            return
        values = self.values()
        config, errors = build_config(values, self.base, self.initial)
        touched = touched_fields(values, self.initial)
        self.stored_errors = {k: r for k, r in errors.items() if k in FIELDS and k not in touched}
        errors = {k: r for k, r in errors.items() if k not in self.stored_errors}
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
