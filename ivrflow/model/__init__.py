"""The model stage: the compiled, immutable `Flow` and what its values mean.

- `flow`: the frozen dataclasses the compiler builds (re-exported here: `model.Menu`, `model.Flow`);
- `walk`, `index`: reading a flow's structure (bodies, statements, ends, stable body numbers);
- `phone`, `hours`, `speech`, `sayas`, `validators`, `templates`, `prompts`: the meaning of the
  values a flow holds — numbers, office hours, spoken words, say-as, validators, prompt templates
  and default prompts. Pure functions: the compiler checks a flow with them and the runtime runs
  it with them, so both agree by construction.

Nothing here does I/O or knows about a call.
"""

from __future__ import annotations

from . import flow
from .flow import *  # noqa: F403  (the dataclasses, as model.Menu, model.Flow …)

__all__ = flow.__all__
