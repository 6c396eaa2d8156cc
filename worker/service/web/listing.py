"""The batch list filtered by state, over any mode's newest-first pages (`Batches.page`).

Why here and not in each store: both modes page by their own cursor, and a filter on top of their pages
keeps the cursor meaning what it means there. Each underlying page asks for exactly as many batches as are
still missing, so a page never overshoots (the cursor stays right after the last batch looked at); a budget
bounds the batches looked at per request, so a rare state among 10,000 batches answers quickly with a
shorter page and a cursor to go on from.
"""

from __future__ import annotations

from collections.abc import Mapping

from worker.service.batches import STATES, Batch, Batches

#: the states a batch shows in the API (a cancelled batch still draining shows as `cancelling`)
KNOWN_STATES = frozenset((*STATES, "cancelling"))
#: batches looked at per request at most when filtering by state
SCAN_BUDGET = 5000


async def page_in_states(
    batches: Batches, limit: int, cursor: str | None, states: frozenset[str]
) -> tuple[list[Batch], str | None]:
    """Up to `limit` batches whose API state is in `states`, newest first; the cursor to go on from."""
    found: list[Batch] = []
    looked = 0
    while len(found) < limit and looked < SCAN_BUDGET:
        want = min(limit - len(found), SCAN_BUDGET - looked)
        page, cursor = await batches.page(want, cursor)
        looked += len(page)
        found.extend(batch for batch in page if batch.to_json()["state"] in states)
        if cursor is None:
            break
    return found, cursor


def parse_states(text: str) -> frozenset[str]:
    """`running,queued` as a set of API states; ApiError 400 for a name that is not one."""
    from worker.service.api import ApiError

    wanted = frozenset(part.strip() for part in text.split(",") if part.strip())
    if not wanted <= KNOWN_STATES:
        raise ApiError(400, "bad_request", f"state must be a comma-separated list of {', '.join(sorted(KNOWN_STATES))}")
    return wanted


async def batch_page(batches: Batches, limit: int, query: Mapping[str, str]) -> tuple[list[Batch], str | None, str]:
    """A page of the list, filtered by `state=` when given; and what the next page's link must add."""
    cursor = query.get("cursor")
    if not query.get("state"):
        found, following = await batches.page(limit, cursor)
        return found, following, ""
    wanted = parse_states(query["state"])
    found, following = await page_in_states(batches, limit, cursor, wanted)
    return found, following, f"&state={','.join(sorted(wanted))}"
