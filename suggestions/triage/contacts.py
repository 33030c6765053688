"""Staff read a resident's contact to call them back: to answer them, and to ask whether they are satisfied.

Reading it is a deliberate act, one item at a time, and each read is recorded (`contact_reads`: who, which item,
when). The contact never appears in a listing, a log or a URL; the answer is not to be cached.
"""

from __future__ import annotations

from typing import Any

import msgspec

from suggestions.db import rerun_after_schema_change

READ = "SELECT name, phone, anonymised_at FROM contacts WHERE item_id = $1"
RECORD_READ = "INSERT INTO contact_reads (item_id, read_by) VALUES ($1, $2)"


class Contact(msgspec.Struct, kw_only=True):
    item_id: int
    name: str | None
    phone: str | None


class NoContact(Exception):
    """The item exists but holds no contact: the sender left none, or retention erased it."""


@rerun_after_schema_change
async def read_contact(conn: Any, *, item_id: int, who: int) -> Contact | None:
    """The item's contact, the read recorded; None if there is no such item."""
    async with conn.transaction():
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM items WHERE id = $1)", item_id):
            return None
        row = await conn.fetchrow(READ, item_id)
        if row is None or row["anonymised_at"] is not None or (row["name"] is None and row["phone"] is None):
            erased = row is not None and row["anonymised_at"] is not None
            raise NoContact("the contact was erased by retention" if erased else "the sender left no contact")
        await conn.execute(RECORD_READ, item_id, who)
    return Contact(item_id=item_id, name=row["name"], phone=row["phone"])
