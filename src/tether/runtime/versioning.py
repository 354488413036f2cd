"""What workflow code calls to change safely while executions of the old code still run: patches."""

from __future__ import annotations

from tether.runtime import workflow_api


def patched(patch_id: str) -> bool:
    """Whether this execution takes the new code path of the patch ``patch_id``.

    True when this point runs for the first time (not from history): a ``PatchRecorded``
    marker goes into the history. On replay, True if the history recorded the marker here,
    False if it reached this point without it (an execution that started before the patch).
    The answer for one id stays the same for the rest of the execution.

    Raises:
        NotInWorkflow: called outside workflow code.
        UsageError: ``patch_id`` is empty or not a printable string.
    """
    instance = workflow_api.current()
    return instance.patches.patched(patch_id, instance.emit)


def deprecate_patch(patch_id: str) -> None:
    """Mark ``patch_id`` as applied everywhere: replay accepts its recorded markers, and none is recorded.

    Replace ``if tether.patched(id): new() else: old()`` by ``tether.deprecate_patch(id); new()``
    at the same place once no execution from before the patch is left; remove the call once no
    execution that recorded the marker is left either.

    Raises:
        NotInWorkflow: called outside workflow code.
        UsageError: ``patch_id`` is empty or not a printable string.
    """
    workflow_api.current().patches.deprecate(patch_id)
