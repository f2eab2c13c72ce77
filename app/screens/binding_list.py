"""The room's key bindings as data: generated from the live bindings, for help and palette."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.widget import Widget

#: What carries bindings and runs their actions: the app or one of its screens.
BindingNode = App[Any] | Widget


@dataclass(frozen=True)
class BoundKey:
    group: str
    keys: tuple[str, ...]  # as displayed: "j", "↓"
    description: str
    tooltip: str
    action: str
    id: str | None
    node: BindingNode  # where the action runs
    denied: str = ""  # why this identity may not use it on the selected row ("" when it may)

    @property
    def keys_text(self) -> str:
        return ", ".join(self.keys)


def _with_keymap(app: App[Any], bindings: BindingsMap) -> BindingsMap:
    copy = BindingsMap.from_keys({k: list(v) for k, v in bindings.key_to_bindings.items()})
    if app._keymap:  # the keymap the user set with set_keymap(), if any
        copy.apply_keymap(app._keymap)
    return copy


def _group_for(node: BindingNode, binding: Binding) -> str:
    return getattr(node, "binding_group", lambda _b: "Room")(binding)


def _denied_for(node: BindingNode, binding: Binding) -> str:
    return str(getattr(node, "binding_denied", lambda _b: "")(binding))


def collect(app: App[Any], nodes: list[BindingNode]) -> list[BoundKey]:
    """One entry per binding (keys merged) that has a description, in declaration order."""
    entries: dict[tuple[int, str], BoundKey] = {}
    for node in nodes:
        for _key, binding in _with_keymap(app, node._bindings):
            if not binding.description or binding.system:
                continue
            slot = (id(node), binding.id or binding.action)
            display = app.get_key_display(binding)
            found = entries.get(slot)
            if found is None:
                entries[slot] = BoundKey(
                    group=_group_for(node, binding),
                    keys=(display,),
                    description=binding.description,
                    tooltip=binding.tooltip,
                    action=binding.action,
                    id=binding.id,
                    node=node,
                    denied=_denied_for(node, binding),
                )
            elif display not in found.keys:
                entries[slot] = replace(found, keys=found.keys + (display,))
    return list(entries.values())


def room_bindings(app: App[Any]) -> list[BoundKey]:
    """The app's bindings and the main screen's, the way help and the palette list them."""
    main = getattr(app, "main_screen", None)
    nodes: list[BindingNode] = [app] + ([main] if main is not None else [])
    return collect(app, nodes)
