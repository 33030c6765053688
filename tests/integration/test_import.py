from pathlib import Path
from typing import Any

import msgspec

from suggestions.importer import import_jsonl


async def test_import_keeps_good_lines_reports_bad_ones_and_is_idempotent(
    tmp_path: Path, settings: Any, pool: Any
) -> None:
    lines = [
        {
            "channel": "hotline",
            "text": "来电反映小区供暖不热",
            "external_id": "A-1",
            "received_at": "2025-12-01T09:00:00+08:00",
        },
        {"channel": "grid", "text": "巡查发现井盖缺失", "external_id": "A-2"},
        {"channel": "hotline", "text": ""},
        {"channel": "web", "text": "建议增设公交站", "received_at": "2025-11-30T20:00:00+08:00", "external_id": "W-9"},
        {"channel": "hotline", "text": "电话不对", "contact_phone": "99"},
    ]
    path = tmp_path / "items.jsonl"
    # A byte-order mark before the first line, and a line saved in GBK: reported by number, the rest imported.
    encoded = [msgspec.json.encode(line) for line in lines]
    gbk = '{"channel": "hotline", "text": "井盖缺失"}'.encode("gbk")
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(encoded) + b"\nnot json\n" + gbk + b"\n")

    report = await import_jsonl(settings, path)
    assert (report.created, report.present) == (3, 0)
    assert [(number, field) for number, field, _ in report.bad] == [
        (3, "text"),
        (5, "contact_phone"),
        (6, ""),
        (7, ""),
    ]
    received = await pool.fetchval("SELECT received_at FROM items WHERE external_id = 'A-1'")
    assert received.isoformat().startswith("2025-12-01T01:00:00")

    again = await import_jsonl(settings, path)
    assert (again.created, again.present) == (0, 3)
    assert await pool.fetchval("SELECT count(*) FROM items") == 3
