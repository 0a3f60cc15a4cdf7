"""Every URL pattern of the project as concrete paths, for tests that walk them all.

``routes()`` flattens ``get_resolver()``; ``Route.path(values)`` fills each path parameter
from ``values`` (by name, then by converter) and returns ``None`` for a pattern it cannot
fill (a regex it does not understand), which the walking tests count as a failure.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^)]*)\)")
_WORDS = re.compile(r"\w+(\|\w+)*")


@dataclass(frozen=True)
class Route:
    parts: tuple[RoutePattern | RegexPattern, ...]
    pattern: URLPattern

    @property
    def template(self) -> str:
        return "/" + "".join(str(part) for part in self.parts)

    @property
    def model_admin(self):
        return getattr(self.pattern.callback, "model_admin", None)

    @property
    def has_parameters(self) -> bool:
        return "<" in self.template or "(?P<" in self.template

    def path(self, values: Mapping[str, str]) -> str | None:
        """The concrete path, ``values`` keyed by parameter name or by converter name."""
        pieces = []
        for part in self.parts:
            if isinstance(part, RoutePattern):
                pieces.append(
                    _ROUTE_PARAM.sub(
                        lambda m: values.get(m["name"], values[m["converter"] or "str"]),
                        str(part),
                    )
                )
                continue
            regex = str(part).removeprefix("^").removesuffix("$").removesuffix(r"\Z")

            def group(match: re.Match) -> str:
                body = match["body"]
                if _WORDS.fullmatch(body):
                    return body.split("|")[0]
                return values.get(match["name"], values["str"])

            regex = _REGEX_GROUP.sub(group, regex).replace("\\", "")
            if re.search(r"[()\[\]*+?^$|]", regex):
                return None
            pieces.append(regex)
        return "/" + "".join(pieces)


def routes() -> list[Route]:
    """Every URL pattern of the root URLconf, outermost first."""

    def walk(patterns, parts) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, (*parts, entry.pattern))
            else:
                yield Route((*parts, entry.pattern), entry)

    return list(walk(get_resolver().url_patterns, ()))
