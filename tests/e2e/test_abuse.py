"""What a centre would not want from the public side: texts that hide what they hold, junk, floods."""

from __future__ import annotations

from typing import Any

import asyncpg

ZERO_WIDTH_SPACE, WORD_JOINER, RIGHT_TO_LEFT_OVERRIDE = "\u200b", "\u2060", "\u202e"


async def test_characters_that_draw_nothing_hide_no_phone_from_masking(
    client: Any, staff: dict[str, str], pool: asyncpg.Pool
) -> None:
    """A phone with zero-width characters between its digits (pasted from a chat app, or put there on purpose) read
    as no phone: staff and operators read it unmasked. A right-to-left override made the words show reversed."""
    phone = f"139{ZERO_WIDTH_SPACE}1234{WORD_JOINER}5678"
    sent = {
        "channel": "web",
        "text": f"楼道灯坏了，{RIGHT_TO_LEFT_OVERRIDE}我的电话{phone}",
        "place": f"龙跃苑东区{ZERO_WIDTH_SPACE}联系{phone}",
        # Copied from a chat, the number the resident sees is a good one.
        "contact_phone": phone,
    }
    created = await client.post("/api/v1/items", json=sent)
    assert created.status_code == 201, created.text
    item = (await client.get(f"/api/v1/items/{created.json()['id']}", headers=staff)).json()
    assert item["text"] == "楼道灯坏了，我的电话[手机号]"
    assert item["place"] == "龙跃苑东区联系[手机号]"
    stored = await pool.fetchval("SELECT text FROM items WHERE id = $1", created.json()["id"])
    assert stored == "楼道灯坏了，我的电话13912345678"
    contact = await client.get(f"/api/v1/items/{created.json()['id']}/contact", headers=staff)
    assert contact.json()["phone"] == "13912345678"
