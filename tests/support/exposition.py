"""What a Prometheus ``/metrics`` page exports: each series name and the label names it carries.

Parsed with prometheus-client's own text parser, so histograms come out as their ``_bucket``/``_sum``/``_count``
series (``le`` on the buckets) and counters with their ``_total`` suffix, exactly the names PromQL reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Exposition:
    #: series name -> every label name seen on it
    series: dict[str, frozenset[str]]
    #: family name (a histogram's name without suffix) -> its type
    families: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Exposition:
        series: dict[str, set[str]] = {}
        families: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for sample in family.samples:
                series.setdefault(sample.name, set()).update(sample.labels)
        return cls({name: frozenset(labels) for name, labels in series.items()}, families)

    def names(self, prefix: str = "") -> list[str]:
        return sorted(name for name in self.series if name.startswith(prefix))
