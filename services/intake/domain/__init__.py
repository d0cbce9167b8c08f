"""The intake domain: the `Case` aggregate, the state folded from its entries, and its rules' errors.

Stored events keep the topic they were recorded under: `services.intake.domain:Case.…` (from before
the aggregate had a module of its own) resolves through `Case` exported here.
"""

from services.intake.domain import errors
from services.intake.domain.case import Case
from services.intake.domain.errors import *  # noqa: F403 (the error tree, as `errors.__all__` lists it)

__all__ = ["Case", "errors", *errors.__all__]
