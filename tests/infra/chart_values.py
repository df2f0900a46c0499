"""Which values keys a chart reads: a key we set that no chart reads is a typo or a removed option, silently ignored.

A key path we set (``tempo.securityContext.capabilities.drop``) is read when, walking it from the top:

- each step is in the chart's ``values.yaml`` or its ``values.schema.json``, or a template reads it
  (``.Values.a.b``, ``index .Values "a" "b"``, ``$.Values.a.b``), and
- the walk stops, everything below accepted, at a map the chart takes whole: a default that is empty (``{}``), a
  list, a scalar or null (free-form: labels, annotations, resources, env, extra args), or a path a template uses
  whole (``toYaml .Values.a``, ``range .Values.a``, ``with .Values.a`` all read ``.Values.a`` with no further key).

A first step naming a subchart (its folder under ``charts/``) continues in that subchart. ``global`` is accepted as
Helm defines it. These are rules, not a list of exceptions per key.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Chart:
    """One chart of an archive: its defaults, schema, templates' text, and subcharts by name."""

    values: Any = None
    schema: Any = None
    templates: str = ""
    subcharts: dict[str, Chart] = field(default_factory=dict)
    #: Chart.yaml's dependencies: (name, alias, condition paths)
    dependencies: list[tuple[str, str | None, list[str]]] = field(default_factory=list)
    #: value paths Chart.yaml reads (dependency conditions such as ``nfd.enabled``)
    conditions: frozenset[tuple[str, ...]] = frozenset()

    def reads_whole(self, path: tuple[str, ...]) -> bool:
        """A template uses ``.Values.<path>`` (or ``index .Values "p" ...``) with no deeper key."""
        return _uses(self.templates, path, whole=True)

    def reads(self, path: tuple[str, ...]) -> bool:
        return _uses(self.templates, path, whole=False)

    def schema_has(self, path: tuple[str, ...]) -> bool:
        node = self.schema
        for step in path:
            if not isinstance(node, Mapping):
                return False
            properties = node.get("properties") or {}
            if step in properties:
                node = properties[step]
            elif node.get("additionalProperties") not in (None, False):
                node = node["additionalProperties"]
            else:
                return False
        return True


def _uses(templates: str, path: tuple[str, ...], *, whole: bool) -> bool:
    dotted = r"\.Values\." + r"\.".join(re.escape(step) for step in path)
    indexed = r"index\s+\$?\.Values\s+" + r"\s+".join(f'"{re.escape(step)}"' for step in path)
    end = r"(?![\w.\"])" if whole else r"(?![\w])"
    indexed_end = r"(?!\s+\")" if whole else ""
    return re.search(f"(?:{dotted}{end}|{indexed}{indexed_end})", templates) is not None


def _member_text(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = tar.extractfile(member)
    return handle.read().decode("utf-8", "replace") if handle else ""


@cache
def load_chart(archive: Path) -> Chart:
    """Every chart in the archive (the top one and its vendored subcharts), nested as Helm nests them."""
    charts: dict[str, Chart] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            parts = member.name.split("/")
            # the chart folder a file belongs to: the path up to the last "charts/<name>" pair (or the top folder)
            cut = max((i + 2 for i in range(len(parts) - 2) if parts[i] == "charts"), default=1)
            chart_dir = "/".join(parts[:cut])
            relative = parts[cut:]
            chart = charts.setdefault(chart_dir, Chart())
            if relative == ["values.yaml"]:
                chart.values = yaml.load(_member_text(tar, member), Loader=_YAML_LOADER)
            elif relative == ["Chart.yaml"]:
                metadata = yaml.load(_member_text(tar, member), Loader=_YAML_LOADER) or {}
                for dependency in metadata.get("dependencies") or ():
                    conditions = [c.strip() for c in str(dependency.get("condition") or "").split(",") if c.strip()]
                    chart.dependencies.append((dependency["name"], dependency.get("alias"), conditions))
            elif relative == ["values.schema.json"]:
                chart.schema = json.loads(_member_text(tar, member))
            elif relative and relative[0] == "templates":
                chart.templates += _member_text(tar, member) + "\n"
    for chart_dir, chart in charts.items():
        parent, _, name = chart_dir.rpartition("/charts/")
        if parent and parent in charts:
            # values reach a subchart under its alias when Chart.yaml gives one, else under its name
            alias = next((a for n, a, _ in charts[parent].dependencies if n == name and a), name)
            charts[parent].subcharts[alias] = chart
    for chart in charts.values():
        chart.conditions = frozenset(tuple(c.split(".")) for _, _, conds in chart.dependencies for c in conds)
    top = min(charts, key=len)
    return charts[top]


def leaf_paths(values: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every path to a non-map value (an empty map is a leaf too)."""
    if isinstance(values, Mapping) and values:
        for key, value in values.items():
            yield from leaf_paths(value, (*prefix, str(key)))
    else:
        yield prefix


def unread_key(chart: Chart, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The shortest prefix of ``path`` that ``chart`` does not read, or None when it reads the key."""
    if not path or path[0] == "global":
        return None
    if path[0] in chart.subcharts and unread_key(chart.subcharts[path[0]], path[1:]) is None:
        return None
    return _unread_in(chart, path)


def _unread_in(chart: Chart, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """``unread_key`` within one chart's own defaults, schema, templates and Chart.yaml conditions."""
    defaults: Any = chart.values if isinstance(chart.values, Mapping) else {}
    for depth in range(1, len(path) + 1):
        prefix, step = path[:depth], path[depth - 1]
        if prefix in chart.conditions or chart.reads_whole(prefix):
            return None
        if isinstance(defaults, Mapping) and step in defaults:
            defaults = defaults[step]
            if not isinstance(defaults, Mapping) or not defaults:
                return None  # a leaf or a free-form default: whatever we set below it is the chart's to pass on
        elif chart.schema_has(prefix) or chart.reads(prefix):
            defaults = {}
        else:
            return prefix
    return None


def unread_keys(archive: Path, values: Mapping[str, Any]) -> list[str]:
    """Every key path we set that the chart in ``archive`` does not read, dotted, each reported once."""
    chart = load_chart(archive)
    found = {unread_key(chart, path) for path in leaf_paths(values)}
    return sorted(".".join(path) for path in found if path is not None)
