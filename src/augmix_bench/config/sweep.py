"""A sweep (``-m``) as its jobs: the overrides of each job, expanded as Hydra's basic sweeper does.

The basic sweeper takes the config's ``hydra.sweeper.params`` (``key: a,b``) followed by the
command line's task overrides; a later override of the same key replaces an earlier one (in the
earlier one's place); every choice or range sweep (``a,b``, ``choice(...)``, ``range(...)``,
``glob(...)``) is a list of values and the jobs are their product, in order, the last key varying
fastest. Torch-free: only Hydra's override parser is used.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from ..errors import UserError

#: The ``_target_`` of Hydra's default sweeper, the one whose jobs ``sweep_jobs`` lists.
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


@dataclass(frozen=True)
class SweepJob:
    """One job of a sweep: its number, every override Hydra passes it, and the swept ones among them."""

    index: int
    overrides: tuple[str, ...]
    swept: tuple[str, ...]

    @property
    def label(self) -> str:
        """E.g. ``job 1 (trainer.batch_size=0)``; ``job 0`` for a sweep without swept keys."""
        return f"job {self.index}" + (f" ({', '.join(self.swept)})" if self.swept else "")


def sweep_jobs(overrides: Sequence[str], params: Mapping[str, Any] | None = None, config_loader: Any = None) -> list[SweepJob]:
    """The jobs of a basic-sweeper sweep of the task ``overrides`` (``hydra.*`` ones are left out)
    and the config's ``hydra.sweeper.params``; ``config_loader`` (Hydra's) expands ``glob(...)``.

    A ``UserError`` for overrides Hydra cannot parse or a sweep the basic sweeper cannot enumerate.
    """
    arguments = [f"{key}={value}" for key, value in (params or {}).items()]
    arguments += [o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
    parser = OverridesParser.create(config_loader=config_loader)
    values: dict[str, list[str]] = {}
    for argument in arguments:
        try:
            (override,) = parser.parse_overrides([argument])
            key = override.get_key_element()
            if override.is_sweep_override() and not override.is_discrete_sweep():
                kind = override.value_type.name.lower().replace("_", " ")
                raise UserError(f"{argument}: Hydra's basic sweeper cannot list the jobs of an {kind}; "
                                "accepted: a,b,c, choice(...), range(...), glob(...)")
            if override.is_sweep_override():
                values[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
            else:
                values[key] = [f"{key}={override.get_value_element_as_str()}"]
        except HydraException as exc:
            reason = str(exc).strip().splitlines()[0]
            raise UserError(f"{argument} is not a valid override ({reason})") from None
    swept = [len(v) > 1 for v in values.values()]
    return [
        SweepJob(index, tuple(job), tuple(o for o, varies in zip(job, swept) if varies))
        for index, job in enumerate(itertools.product(*values.values()))
    ]
