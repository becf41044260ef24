"""A run's measurement protocol in words, from ``results.json``'s ``protocol`` entry.

Each entry (``images``, ``normalization``, ``image size``, ``eval transform``, ``corrupted
transform``, ``-C``, ``-C mean``, ``-C-bar``) is a short phrase, e.g. ``first 1,000 of 10,000 test
images`` or ``regenerated -C, seed 0 (1a2b3c4d)``. Runs whose phrases differ are never averaged
together (``aggregate.recipe_entries`` puts them in the recipe); a table prints the phrases most of
its runs share once and marks each row that differs with its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..data.names import CORRUPTIONS

#: Prefix of the recipe entries that hold protocol phrases.
PREFIX = "protocol."
#: The sets a protocol records, with their names in phrases.
SET_LABELS: dict[str, str] = {"corruptions": "-C", "corruptions_bar": "-C-bar"}


def _numbers(values: Any) -> str:
    """``(0.4914, 0.4822, 0.4465)``: a list of floats at 4 decimals."""
    return "(" + ", ".join(f"{float(v):.4g}" for v in values or ()) + ")"


def images_phrase(limit: Any, total: Any) -> str:
    """``first 1,000 of 10,000 test images`` (a limited evaluation) or ``all 10,000 test images``."""
    if isinstance(limit, int) and (not isinstance(total, int) or limit < total):
        return f"first {limit:,} of {total:,} test images" if isinstance(total, int) else f"first {limit:,} test images"
    return f"all {total:,} test images" if isinstance(total, int) else "all test images"


def set_phrase(entry: Mapping[str, Any], label: str) -> str:
    """``released -C``, ``regenerated -C, seed 0 (1a2b3c4d)`` or ``-C from another folder (1a2b3c4d)``."""
    fingerprint = entry.get("fingerprint")
    tag = f" ({str(fingerprint)[:8]})" if fingerprint else ""
    source = entry.get("source")
    if source == "released":
        return f"released {label}"
    if source == "generated":
        return f"regenerated {label}, seed {entry.get('seed')}{tag}"
    return f"{label} from another folder{tag}"


def protocol_entries(results: Mapping[str, Any]) -> dict[str, str]:
    """The protocol phrases of one ``results.json`` (empty for files written before it was recorded)."""
    protocol = results.get("protocol")
    if not isinstance(protocol, dict):
        return {}
    normalization = protocol.get("normalization") or {}
    entries = {
        "images": images_phrase(protocol.get("eval_limit"), protocol.get("test_images")),
        "normalization": f"mean {_numbers(normalization.get('mean'))}, std {_numbers(normalization.get('std'))}",
        "image size": f"{protocol.get('image_size')} px",
        "eval transform": str(protocol.get("eval_transform")),
    }
    if protocol.get("corrupted_transform"):
        entries["corrupted transform"] = str(protocol["corrupted_transform"])
    for part, label in SET_LABELS.items():
        entry = (protocol.get("sets") or {}).get(part)
        if not isinstance(entry, dict):
            continue
        entries[label] = set_phrase(entry, label)
        headline = list(entry.get("headline") or [])
        if part == "corruptions" and headline != list(CORRUPTIONS):
            entries[f"{label} mean"] = f"{label} mean over {len(headline)}: {', '.join(headline)}"
    return entries


def common_protocol(protocols: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Per entry, the phrase most of ``protocols`` share (the first seen on a tie); entries none records are left out."""
    counts: dict[str, Counter] = {}
    for protocol in protocols:
        for key, value in protocol.items():
            counts.setdefault(key, Counter())[value] += 1
    return {key: counter.most_common(1)[0][0] for key, counter in counts.items()}


def marks(protocol: Mapping[str, str], common: Mapping[str, str]) -> tuple[str, ...]:
    """The phrases of ``protocol`` that differ from the ``common`` one (a row's mark)."""
    return tuple(value for key, value in protocol.items() if common.get(key) != value)


def protocol_note(common: Mapping[str, str], marked: Sequence[str] = ()) -> str:
    """A table's ``Protocol: ...`` line (empty when no run records one)."""
    if not common:
        return ""
    note = "Protocol: " + "; ".join(f"{key}: {value}" for key, value in common.items()) + "."
    if marked:
        note += " Rows marked [...] differ from it: " + "; ".join(marked) + " (never averaged with the others)."
    return note
