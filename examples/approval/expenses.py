"""The tutorial's workflow: an expense claim waits for a manager's decision, which comes later by token."""

from datetime import timedelta

from pydantic import BaseModel

import tether


class Decision(BaseModel):
    approved: bool
    by: str
    note: str = ""


@tether.activity(timeout=timedelta(days=7), retry=tether.RetryPolicy(max_attempts=3))
async def ask_manager(employee: str, amount: int) -> Decision:
    # Shown in the web UI's inbox and by `tether activity list --waiting`, with the token that decides.
    tether.context().inbox(f"Approve {amount} EUR for {employee}?")
    return tether.make_async()  # the attempt waits, holding no process, until someone completes it


@tether.activity
async def pay(employee: str, amount: int) -> str:
    return f"paid {amount} EUR to {employee}"


@tether.workflow
async def expense(employee: str, amount: int) -> str:
    decision = await ask_manager(employee, amount)
    if not decision.approved:
        return f"refused by {decision.by}: {decision.note}"
    return await pay(employee, amount)
