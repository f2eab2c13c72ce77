"""The `/` filter: a substring or a regular expression, `!` in front inverts it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowFilter:
    """Matches a row's text. Case-insensitive; an invalid regex is taken literally."""

    text: str = ""
    pattern: re.Pattern[str] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        body = self.body
        if not body:
            compiled = None
        else:
            try:
                compiled = re.compile(body, re.IGNORECASE)
            except re.error:
                compiled = re.compile(re.escape(body), re.IGNORECASE)
        object.__setattr__(self, "pattern", compiled)

    @property
    def inverted(self) -> bool:
        return self.text.startswith("!")

    @property
    def body(self) -> str:
        return self.text[1:] if self.inverted else self.text

    @property
    def active(self) -> bool:
        return self.pattern is not None

    def matches(self, haystack: str) -> bool:
        if self.pattern is None:
            return True
        found = self.pattern.search(haystack) is not None
        return not found if self.inverted else found


NO_FILTER = RowFilter()
