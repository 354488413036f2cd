"""Continue-as-new: end a run and start the execution's next run with new arguments and an empty history."""

from __future__ import annotations

from typing import Any, NoReturn


class ContinueAsNew(BaseException):  # the name says what raising it does
    """Raise from workflow code to end this run and start the next one with ``args``.

    The run ends as "continued"; a new run of the same workflow and the same execution id
    starts with ``args`` and an empty history, so a workflow that loops forever keeps its
    history bounded. A cancellation requested that this run did not see applies to the
    next. A ``BaseException``, so that ``except Exception`` in workflow code lets it pass.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args)
        self.arguments = args
        self.keywords = kwargs


def continue_as_new(*args: Any, **kwargs: Any) -> NoReturn:
    """End this run and continue the execution as a new run with these arguments (see :class:`ContinueAsNew`)."""
    raise ContinueAsNew(*args, **kwargs)
