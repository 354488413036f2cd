"""Take the next review request off the queue and print its token: ``python -m examples.orders.take_review``.

A person's inbox, reduced to one line: the demo hands the printed token to
``tether activity complete``. The queue is the file TETHER_DEMO_QUEUE names.
"""

from __future__ import annotations

import os
import sys
import time

from examples.orders.review_queue import ReviewQueue

WAIT_SECONDS = 30.0


def main() -> int:
    queue = ReviewQueue(os.environ["TETHER_DEMO_QUEUE"])
    deadline = time.monotonic() + WAIT_SECONDS
    while (message := queue.claim()) is None:
        if time.monotonic() > deadline:
            print(f"no review request arrived within {WAIT_SECONDS:g} s", file=sys.stderr)
            return 1
        time.sleep(0.05)  # a consumer polling its queue
    queue.ack(message.id)
    body = message.body
    print(
        f"review request: order {body['order_id']}, amount {body['amount']}, attempt {body['attempt']}", file=sys.stderr
    )
    print(body["token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
