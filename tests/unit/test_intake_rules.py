import math
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from suggestions.errors import InvalidInput
from suggestions.intake.schema import ItemIn
from suggestions.intake.service import check_item, request_hash
from suggestions.intake.tracking_code import ALPHABET, LENGTH, new_tracking_code, normalise_tracking_code


def item(**fields: object) -> ItemIn:
    return msgspec.convert({"channel": "web", "text": "小区门口路灯坏了一个月", **fields}, ItemIn)


def field_of(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return exc.value.problems[0].field


def test_blank_text_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as exc:
        check_item(item(text="   \n "))
    assert field_of(exc) == "text"


def test_unknown_fields_and_wrong_channel_fail_decoding() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field `colour`"):
        item(colour="red")
    with pytest.raises(msgspec.ValidationError, match=r"\$\.channel"):
        item(channel="fax")


def test_text_over_the_cap_fails_decoding() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.text"):
        item(text="字" * 5001)


def test_web_items_cannot_backdate() -> None:
    with pytest.raises(InvalidInput) as exc:
        check_item(item(received_at=datetime.now(UTC) - timedelta(hours=1)))
    assert field_of(exc) == "received_at"
    # ...but history imports keep their own dates.
    check_item(item(received_at=datetime(2024, 5, 1, tzinfo=UTC)), history=True)


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z"])
def test_received_at_before_1970_is_refused(received_at: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_item(item(channel="hotline", received_at=received_at))
    assert field_of(exc) == "received_at"


def test_received_at_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        check_item(item(channel="hotline", received_at=datetime.now(UTC) + timedelta(hours=2)))
    assert field_of(exc) == "received_at"


def test_a_call_entered_weeks_late_is_a_clock_gone_wrong() -> None:
    """A phone whose clock reset to 1970 (or a console a year off) would put its item at the top of the feed as the
    longest waiting: a call or visit is entered within 30 days; an import keeps any older date."""
    now = datetime.now(UTC)
    check_item(item(channel="grid", received_at=now - timedelta(days=29)))
    for stale in (now - timedelta(days=31), datetime(1970, 1, 1, 8, 0, 5, tzinfo=UTC)):
        with pytest.raises(InvalidInput) as exc:
            check_item(item(channel="grid", received_at=stale))
        assert field_of(exc) == "received_at"
        assert "clock" in str(exc.value)
        check_item(item(channel="grid", received_at=stale), history=True)


def test_lat_without_lon() -> None:
    with pytest.raises(InvalidInput) as exc:
        check_item(item(lat=40.2))
    assert field_of(exc) == "lon"


def test_bad_phone_names_the_field_and_good_phone_is_normalised() -> None:
    with pytest.raises(InvalidInput) as exc:
        check_item(item(contact_phone="12345"))
    assert field_of(exc) == "contact_phone"
    assert check_item(item(contact_phone="+86 138-1234-5678")).contact_phone == "13812345678"


def test_phone_numbers_in_place_are_masked() -> None:
    assert "13812345678" not in check_item(item(place="回龙观 13812345678")).place


def test_request_hash_ignores_field_order_but_not_content() -> None:
    a = msgspec.json.decode(b'{"channel": "web", "text": "x", "place": "y"}', type=ItemIn)
    b = msgspec.json.decode(b'{"place": "y", "text": "x", "channel": "web"}', type=ItemIn)
    c = msgspec.json.decode(b'{"place": "z", "text": "x", "channel": "web"}', type=ItemIn)
    assert request_hash(a) == request_hash(b) != request_hash(c)


def test_tracking_codes_are_random_and_typed_back_loosely() -> None:
    codes = {new_tracking_code() for _ in range(1000)}
    assert len(codes) == 1000
    code = codes.pop()
    raw = code.replace("-", "")
    assert len(raw) == 12
    assert set(raw) <= set(ALPHABET)
    assert normalise_tracking_code(raw.lower()) == code
    assert normalise_tracking_code(" " + code.replace("-", " ") + " ") == code
    assert normalise_tracking_code("0000-1111-IIII") is None
    assert normalise_tracking_code("../../etc") is None


def test_codes_keep_their_guesses_at_one_code_in_2_to_the_59_and_every_symbol_issued_is_read_back() -> None:
    """The public look-up is exact, so that a guess covers one code (`routes.find_tracking`): what a code is worth
    against guessing is the number of codes that may be issued. Symbols that read alike over the phone are folded for
    token holders only (`reading_key`, 21 classes, about 53 bits); issuing codes from fewer symbols at this length
    would give the public's guesses that worth too. And every symbol a code was ever issued with is read back:
    items keep their codes for good."""
    assert LENGTH == 12
    assert LENGTH * math.log2(len(set(ALPHABET))) > 59
    for symbol in ALPHABET:
        code = "-".join([symbol * 4] * 3)
        assert normalise_tracking_code(code.lower().replace("-", "")) == code


def test_a_code_typed_with_an_input_methods_separators_is_read() -> None:
    """A Chinese input method left in its Chinese mode puts its own marks between what is typed: a pinyin
    apostrophe (zmb5'5rkz), a full-width comma between the groups a resident read out."""
    code = "ZMB5-5RKZ-HVQA"
    for typed in ["zmb5'5rkz'hvqa", "ZMB5，5RKZ，HVQA", "ZMB5,5RKZ,HVQA", "ZMB5’5RKZ’HVQA", "查询码：zmb5'5rkz'hvqa"]:
        assert normalise_tracking_code(typed) == code, typed


def test_a_code_pasted_with_the_words_around_it_is_read() -> None:
    """Residents copy the code out of a chat message or a note, words and punctuation around it."""
    code = "ZMB5-5RKZ-HVQA"
    for pasted in [
        f"查询码：{code}",
        f"我的查询码是{code}，请帮忙查一下",
        f"【{code}】",
        f"“{code.lower()}”",
        "查询码 ZMB5 5RKZ HVQA。",
        "查询码ZMB55RKZHVQA",
        f"{code}\n谢谢",
    ]:
        assert normalise_tracking_code(pasted) == code, pasted
    # Twelve symbols cut out of a longer run are no code (a phone or ID number typed in the wrong box), nor is a
    # message holding two codes.
    assert normalise_tracking_code("ZMB55RKZHVQAB") is None
    assert normalise_tracking_code("身份证11010519491231002X") is None
    assert normalise_tracking_code(f"{code} 和 ABCD-EFGH-JKMN") is None


def test_the_key_of_a_form_sent_again_cannot_give_the_senders_address_back() -> None:
    """An anonymous resident's words and the key that finds them sent again are stored side by side: the key holds
    too little of the address to find it again (by hashing every address with the stored words), yet tells most
    neighbours' identical words apart."""
    from suggestions.web import repeat_key

    words = item(text="路灯不亮")
    keys = {repeat_key(f"10.{a}.{b}.7", words).key for a in range(40) for b in range(50)}
    assert 16 <= len(keys) <= 256  # 2,000 addresses share at most 256 keys: each key, thousands of addresses
    assert len({repeat_key(f"10.0.{b}.7", words).key for b in range(20)}) > 1
    assert repeat_key("10.0.0.7", words) == repeat_key("10.0.0.7", item(text="路灯不亮"))
    assert repeat_key("10.0.0.7", words) != repeat_key("10.0.0.7", item(text="路灯不亮了"))


@pytest.mark.parametrize(
    "work_order",
    [
        "13912345678",
        "139-1234-5678",
        "86-13912345678",
        "010-69712345",
        "01069712345",
        "86-10-69712345",
        "GD-13912345678",
        "13912345678-1",
        "110101199003071233",
        "11010119900307123X",
        "110101-19900307-1233",
        "110101900307123",
    ],
)
def test_a_phone_or_id_number_in_the_work_order_box_is_refused_by_name(work_order: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_item(item(channel="hotline", external_id=work_order))
    assert field_of(exc) == "external_id"
    message = str(exc.value)
    assert "工单号" in message
    assert "contact_phone" in message
    assert work_order not in message


# 12345 work orders as platforms number them: letters, a date and a sequence; phone-shaped digits glued to letters are
# a code (FZ + YYMMDD + 5 digits looks like a mobile); a local number alone is no phone either way.
@pytest.mark.parametrize(
    "work_order",
    [
        "FZ18050200321",
        "WO-2026-000123",
        "12345-2026-0042",
        "2026113000123",
        "GD202611300001",
        "69712345",
        # A date and a sequence, shaped like a 身份证 number of 15 or 18 digits, but no province's code starts one
        "202611300123456",
        "GD-202611300123456",
        "202611191990010112",
    ],
)
def test_work_order_numbers_are_taken(work_order: str) -> None:
    assert check_item(item(channel="hotline", external_id=work_order)).text
