"""The one configuration language of the course: frozen dataclasses whose fields carry their help.

Every model's settings are a frozen config dataclass (``GANConfig``, ``DDPMConfig``, ...),
written like google-research/vdm's ``VDMConfig``. A field is declared with :func:`setting`,
which stores the sentence that explains it beside its default::

    @dataclass(frozen=True)
    class DDPMConfig:
        T: int = setting(1000, "diffusion steps")
        loss: str = setting("simple", "what training minimises", choices=("simple", "elbo"))

The notebooks build these dataclasses directly; the command line generates its options from
them (:mod:`course_lib.cli.options`), so a setting, its default and its help live in one place.
Fields the data decide (the data's dimension, its number of classes) are ``from_data``: they
are not options.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def setting(default: Any = dataclasses.MISSING, help: str = "", *, choices: tuple | None = None,
            from_data: bool = False) -> Any:
    """A config field with its help text; ``choices`` are the accepted values (checked by
    :func:`check_choices`); ``from_data``: set from the training data, not an option."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices,
                                                        "from_data": from_data})


def check_choices(config: Any) -> None:
    """Raise a one-line ValueError for a field whose value is not one of its ``choices``."""
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        value = getattr(config, f.name)
        if choices and value not in choices:
            raise ValueError(f"unknown {f.name} '{value}'; accepted: "
                             f"{', '.join(map(str, choices))}")


def from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a config from its ``dataclasses.asdict`` (JSON lists become tuples again);
    fields added to ``cls`` after ``values`` were written take their defaults."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v
                  for k, v in values.items() if k in names})
