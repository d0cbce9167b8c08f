"""The judicial domain: the `Case` aggregate, the state folded from its entries, the rules it
checks, and their errors.

Stored events keep the topic they were recorded under: `services.judicial.domain:Case.…` (from
before the aggregate had a module of its own) resolves through `Case` exported here.
"""

from services.judicial.domain import errors
from services.judicial.domain.case import Case
from services.judicial.domain.errors import *  # noqa: F403 (the error tree, as `errors.__all__` lists it)

__all__ = ["Case", "errors", *errors.__all__]
