from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from suggestions.privacy import (
    BANK_CARD_PLACEHOLDER,
    ID_PLACEHOLDER,
    MOBILE_PLACEHOLDER,
    contains_pii,
    drop_invisible,
    mask_personal,
    mask_pii,
    normalize_phone,
    public_phones,
)

FULL_WIDTH = str.maketrans("0123456789-+() ", "０１２３４５６７８９－＋（）\u3000")

# Synthetic numbers. 110101199003071233 carries a correct check character, 110101199003071234 a wrong one; both
# are 18-digit runs that fail the Luhn check, so they can only be masked as IDs.
ID_VALID = "110101199003071233"
ID_MISTYPED = "110101199003071234"
CARD_16 = "6222021234567894"
CARD_19 = "6217000000000000004"


def with_luhn_digit(body: str) -> str:
    """body followed by the digit that makes it pass the Luhn check."""
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str(-total % 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", "电话[手机号]"),
        ("电话 138 1234 5678 找我", "电话 [手机号] 找我"),
        ("电话138-1234-5678", "电话[手机号]"),
        ("电话1381234 5678", "电话[手机号]"),
        ("+8613812345678", "[手机号]"),
        ("+86 138 1234 5678", "[手机号]"),
        ("(+86)13812345678", "[手机号]"),
        ("0086-13812345678", "[手机号]"),
        ("86 19912345678", "[手机号]"),
        ("拨013812345678", "拨[手机号]"),
        ("１３８１２３４５６７８", "[手机号]"),
        ("＋８６ １３８－１２３４－５６７８", "[手机号]"),
        ("１３８\u3000１２３４\u3000５６７８", "[手机号]"),
        # Dashes a Chinese input method types, and wider gaps
        ("电话138—1234—5678", "电话[手机号]"),
        ("电话138——1234——5678", "电话[手机号]"),
        ("电话 138 - 1234 - 5678", "电话 [手机号]"),
        ("电话138  1234  5678", "电话[手机号]"),
        # Read out digit by digit and typed so, or broken over lines or cells
        ("请联系1 3 9 1 2 3 4 5 6 7 8谢谢", "请联系[手机号]谢谢"),
        ("电话1-3-9-1-2-3-4-5-6-7-8", "电话[手机号]"),
        ("电话139\n1234\n5678", "电话[手机号]"),
        ("手机\t139\t1234\t5678", "手机\t[手机号]"),
    ],
)
def test_mobile_numbers_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("座机010-12345678", "座机[电话]"),
        ("座机0755 1234 5678", "座机[电话]"),
        ("(0591)87654321", "[电话]"),
        ("（0591）8765-4321转808", "[电话]"),
        ("0591-87654321-12", "[电话]"),
        ("0591 8765432 分机 6", "[电话]"),
        ("021 1234567", "[电话]"),
        ("05918765432", "[电话]"),
        ("０５９１－８７６５４３２１", "[电话]"),
        ("座机0755—12345678", "座机[电话]"),
        ("座机010——12345678", "座机[电话]"),
        # As written for callers from abroad: the country code, and the area code without its trunk 0
        ("电话+86-10-12345678", "电话[电话]"),
        ("Tel: +86 10 6971 2345", "Tel: [电话]"),
        ("(+86)21-12345678转123", "[电话]"),
        ("0086 755 12345678", "[电话]"),
        ("+86 010 12345678", "[电话]"),
        # The country code written without + or 00, as a business card or a letterhead gives it
        ("电话：86-10-69712345", "电话：[电话]"),
        ("86 755 1234 5678转8", "[电话]"),
        ("(86)10-69712345", "[电话]"),
    ],
)
def test_landline_numbers_are_masked_with_their_extension(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"身份证{ID_VALID}",
        f"身份证{ID_MISTYPED}",
        "身份证11010519491231002X",
        "身份证11010519491231002x",
        "身份证110101 19900307 1234",
        "身份证110101-1990-0307-1234",
        "身份证１１０１０１１９９００３０７１２３４",
        "身份证110101900307123",
    ],
)
def test_id_numbers_with_a_plausible_birth_date_are_masked_whatever_the_checksum(text: str) -> None:
    assert mask_pii(text) == "身份证[身份证号]"


@pytest.mark.parametrize(
    "text",
    [
        f"卡号{CARD_16}",
        "卡号6222 0212 3456 7894",
        "卡号6222-0212-3456-7894",
        f"卡号{CARD_19}",
        "卡号6217 0000 0000 0000 004",
        "卡号４１１１１１１１１１１１１１１１",
    ],
)
def test_bank_card_numbers_passing_luhn_are_masked(text: str) -> None:
    assert mask_pii(text) == "卡号[银行卡号]"


@pytest.mark.parametrize(
    "text",
    [
        f"{ID_MISTYPED[:6]}—{ID_MISTYPED[6:14]}—{ID_MISTYPED[14:]}",
        f"{ID_MISTYPED[:6]}  {ID_MISTYPED[6:14]}  {ID_MISTYPED[14:]}",
        "—".join(CARD_16[i : i + 4] for i in range(0, 16, 4)),
        " - ".join(CARD_16[i : i + 4] for i in range(0, 16, 4)),
    ],
)
def test_ids_and_cards_split_by_dashes_or_wide_gaps_are_masked(text: str) -> None:
    assert mask_pii(f"号码：{text}。") in (f"号码：{ID_PLACEHOLDER}。", f"号码：{BANK_CARD_PLACEHOLDER}。")


def test_card_followed_by_a_short_number_keeps_the_short_number() -> None:
    assert mask_pii("卡号6222 0212 3456 7894 123号") == "卡号[银行卡号] 123号"


def test_landline_followed_by_a_year_is_not_taken_for_a_card() -> None:
    assert mask_pii("电话0591 8765 4321 2023年") == "电话[电话] 2023年"


# Callers in the district give their landline without its area code, and operators write it down so.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("来电人座机6971 2345，请回电", "来电人座机[电话]，请回电"),
        ("联系电话：69712345", "联系电话：[电话]"),
        ("电话 8971-2345 转 12，找王师傅", "电话 [电话]，找王师傅"),
        ("家里电话是6971234", "家里电话是[电话]"),
        ("请回电 69712345", "请回电 [电话]"),
        ("固话（8971 2345）", "固话（[电话]）"),
        ("联系方式８９７１２３４５", "联系方式[电话]"),
        # As operators type between the word and the number: a dash, a comma, a slash, spaces around a colon
        ("座机-69712345", "座机-[电话]"),
        ("电话 — 6971 2345", "电话 — [电话]"),
        ("来电人电话，69712345", "来电人电话，[电话]"),
        ("电话号码是 : 69712345", "电话号码是 : [电话]"),
        ("联系电话/69712345", "联系电话/[电话]"),
        # The number the caller ID showed, and a second number after the first
        ("来电号码69712345", "来电号码[电话]"),
        ("来电显示：6971 2345", "来电显示：[电话]"),
        ("电话是6971 2345和6971 2346", "电话是[电话]和[电话]"),
        ("座机69712345、89712345", "座机[电话]、[电话]"),
    ],
)
def test_a_local_landline_after_a_word_for_phone_is_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected
    assert contains_pii(text)


def test_an_office_number_written_as_dialled_locally_stays_in_what_staff_write() -> None:
    keep = public_phones("010-69712345", area_code="010")
    assert mask_pii("请拨打热线69712345咨询", keep) == "请拨打热线69712345咨询"
    assert mask_pii("请拨打电话69712346咨询", keep) == "请拨打电话[电话]咨询"


def test_an_office_number_with_an_extension_stays_in_what_staff_write() -> None:
    """A reply that sends the resident to a department's extension of the district's number sends them to the
    district, not to a resident: the office's line is public with any extension, as the hotspots count it."""
    keep = public_phones("010-69712345", area_code="010")
    assert mask_pii("请拨打010-69712345转808咨询", keep) == "请拨打010-69712345转808咨询"
    assert mask_pii("请拨打69712345转808咨询", keep) == "请拨打69712345转808咨询"
    assert mask_pii("请拨打010-69712346转808咨询", keep) == "请拨打[电话]咨询"
    department = public_phones("010-69712345转808", area_code="010")
    assert mask_pii("请拨打010-69712345咨询", department) == "请拨打010-69712345咨询"


def test_an_office_number_of_another_area_does_not_keep_a_local_number_with_its_digits() -> None:
    # Dialled in the district, 69712345 is 010-69712345: a resident's, not the office's in 0591.
    keep = public_phones("0591-69712345", area_code="010")
    assert mask_pii("请拨打电话69712345咨询", keep) == "请拨打电话[电话]咨询"
    assert mask_pii("请拨打电话0591-69712345咨询", keep) == "请拨打电话0591-69712345咨询"


@pytest.mark.parametrize(
    "text",
    [
        "编号1381234567",  # 10 digits
        "编号138123456789",  # 12 digits
        "编号12345678901",  # 11 digits but no mobile prefix 13-19
        "工单号20231015138123456780已受理",  # a phone-shaped run inside a 20-digit work-order number
        "工单号62220212345678941234",  # a card-shaped run inside a 20-digit number
        "赔偿13800元",
        "合计13912345678.50元",  # phone-shaped, but an amount
        "赔偿1,380,000.00元",
        "2023年10月15日",
        "日期20231015",
        "2023-10-15 10:30-11:45",
        "第1 2 3 4 5 6 7 8 9 10 11条",  # a count, digit by digit
        "2019 12 31 10 30 15",
        "邮编350001",
        "18号楼2单元301室",
        "0591-2345",
        "闽A12345",
        "110101199013071234",  # month 13
        "110101199002301234",  # 30 February
        "110101189912311234",  # born before 1900
        "110101209901011234",  # born in the future
        "011010199003071234",  # no region code starts with 0
        "110101901307123",  # old 15-digit ID with month 13
        "6222021234567890",  # Luhn fails
        "6222 0212 3456 7890",  # Luhn fails
        # Eight digits without a word for phone before them are an amount, a date or a number of something else
        "金额69712345元",
        "编号69712345",
        "电话费69712345元",
        "电话12345678",  # no local number starts with 1
        "电话2023年10月15日打过",
        "电话打了3次，2000 5000元的损失",
        "来电人反映物业费69712345元",
    ],
)
def test_ordinary_numbers_stay(text: str) -> None:
    assert mask_pii(text) == text
    assert not contains_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "见诉求件FZ18050200321的答复",  # work-order number: FZ + YYMMDD + 5 digits
        "产品型号ABC13812345678",
        "诉求编号：（17121500423）",
        "编号：08031200417",
    ],
)
def test_phone_shaped_reference_numbers_stay(text: str) -> None:
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tel13812345678", "Tel[手机号]"),
        ("tel:13812345678", "tel:[手机号]"),
        ("13812345678ABC", "[手机号]ABC"),
        ("MOBILE+86 13812345678", "MOBILE[手机号]"),
        (f"SN{ID_VALID}", "SN[身份证号]"),
        (f"编号{ID_VALID}", "编号[身份证号]"),
        (f"ABC{CARD_16}", "ABC[银行卡号]"),
        (f"{CARD_16}ABC", "[银行卡号]ABC"),
        # Only an ID ends in X, so the X is not a letter code shielding the phone glued to it.
        ("11010119900307123X13812345678", "[身份证号][手机号]"),
        ("11010119900307123X5", "[身份证号]5"),
    ],
)
def test_letters_never_shield_an_id_or_a_card_nor_a_labelled_phone(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


def test_several_numbers_in_one_text_with_chinese_punctuation() -> None:
    text = (
        f"联系人：张先生，手机：13812345678；座机：（0591）87654321。"
        f"身份证号“{ID_VALID}”、银行卡号{CARD_16}！2023年共欠款13800元，见工单20231015000000000001。"
    )
    assert mask_pii(text) == (
        "联系人：[姓名]，手机：[手机号]；座机：[电话]。"
        "身份证号“[身份证号]”、银行卡号[银行卡号]！2023年共欠款13800元，见工单20231015000000000001。"
    )


def test_contains_pii() -> None:
    assert contains_pii("请回电13812345678")
    assert not contains_pii("请回电[手机号]")
    assert not contains_pii("2023年10月15日，金额13800元")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        (" 138 1234 5678 ", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086-138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("0755 1234 5678", "0755-12345678"),
        ("(0591)8765432", "0591-8765432"),
        ("（０５９１）８７６５４３２１", "0591-87654321"),
        ("0755-12345678转123", "0755-12345678转123"),
        ("010-12345678-123", "010-12345678转123"),
        ("138——1234——5678", "13812345678"),
        ("010—12345678", "010-12345678"),
        ("+86 10 6971 2345", "010-69712345"),
        ("0086-755-12345678", "0755-12345678"),
        # A mobile from outside the district shown on a landline's caller ID, as operators read it off the screen.
        ("013912345678", "13912345678"),
        ("0139 1234 5678", "13912345678"),
        ("86-10-69712345", "010-69712345"),
        ("86 755 12345678", "0755-12345678"),
    ],
)
def test_normalize_phone(value: str, expected: str) -> None:
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1381234567",
        "138123456789",
        "12345678901",
        "12345678",
        "010-1234",
        "138 1234 5678 转 1",
        "无",
        "+1 202 555 0123",
    ],
)
def test_normalize_phone_rejects_other_values_without_echoing_them(value: str) -> None:
    with pytest.raises(ValueError, match=r"电话号码格式不正确.*invalid phone number") as raised:
        normalize_phone(value)
    if value:
        assert value not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "area_code", "expected"),
    [
        ("69712345", "010", "010-69712345"),
        ("6971-2345", "010", "010-69712345"),
        (" 6971 2345 ", "010", "010-69712345"),
        ("８９７１２３４５", "010", "010-89712345"),
        ("6971 2345 转 808", "010", "010-69712345转808"),
        ("8765432", "0591", "0591-8765432"),
        # With its own code a landline keeps it, whatever the district's.
        ("010-69712345", "0591", "010-69712345"),
    ],
)
def test_a_local_landline_is_completed_with_the_districts_area_code(value: str, area_code: str, expected: str) -> None:
    assert normalize_phone(value, area_code=area_code) == expected


@pytest.mark.parametrize("value", ["69712345", "8765432"])
def test_a_local_landline_needs_an_area_code_to_complete_it(value: str) -> None:
    with pytest.raises(ValueError, match="电话号码格式不正确"):
        normalize_phone(value)


# No local number starts with 0 or 1 (those are trunk and service prefixes), and a local number has 7 or 8 digits: 8
# where the area code has 3 (Beijing, Shanghai, Guangzhou...), so a 7-digit number in Beijing is a digit misheard.
@pytest.mark.parametrize(
    "value", ["12345678", "1234567", "02345678", "123456", "697123", "697123456", "6971234a", "6971234"]
)
def test_what_is_no_local_landline_is_still_refused(value: str) -> None:
    with pytest.raises(ValueError, match="电话号码格式不正确"):
        normalize_phone(value, area_code="010")


def digits(count: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=count, max_size=count)


mobile_numbers = st.builds(lambda second, rest: f"1{second}{rest}", st.sampled_from("3456789"), digits(9))
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date.today())
id_numbers = st.builds(
    lambda region, born, sequence, check: f"{region}{born:%Y%m%d}{sequence}{check}",
    st.builds(lambda first, rest: first + rest, st.sampled_from("12345678"), digits(5)),
    birth_dates,
    digits(3),
    st.sampled_from("0123456789X"),
)
old_id_numbers = st.builds(
    lambda region, born, sequence: f"{region}{born:%y%m%d}{sequence}",
    st.builds(lambda first, rest: first + rest, st.sampled_from("12345678"), digits(5)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
    digits(3),
)
card_numbers = st.builds(
    lambda first, rest: with_luhn_digit(first + rest),
    st.sampled_from("123456789"),
    st.integers(min_value=14, max_value=17).flatmap(digits),
)


def grouped(number: str, sizes: tuple[int, ...], separator: str) -> str:
    groups = []
    for size in sizes:
        groups.append(number[:size])
        number = number[size:]
    return separator.join(groups) + (separator + number if number else "")


separators = st.sampled_from(["", " ", "-"])
country_codes = st.sampled_from(["", "+86", "+86 ", "86-", "0086 ", "(+86)"])
written_mobiles = st.builds(
    lambda number, prefix, separator: prefix + grouped(number, (3, 4), separator),
    mobile_numbers,
    country_codes,
    separators,
)
written_ids = st.one_of(
    st.builds(lambda number, separator: grouped(number, (6, 8), separator), id_numbers, separators),
    st.builds(lambda number, separator: grouped(number, (6, 6), separator), old_id_numbers, st.just("")),
)
written_cards = st.builds(lambda number, separator: grouped(number, (4, 4, 4, 4), separator), card_numbers, separators)


def maybe_full_width(numbers: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(numbers, numbers.map(lambda number: number.translate(FULL_WIDTH)))


CHINESE = "的一是在不了有和人这中大为上我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
# Text around a number: Chinese, Chinese punctuation and spaces, but no digits, no letters (a letter code before a
# phone-shaped run makes it a reference number) and none of the characters a number may absorb from its
# neighbours (a leading "+" or "(" before 86).
chinese_text = st.text(alphabet=st.sampled_from(list(CHINESE + "，。！？；：、“”《》【】—…· -")), max_size=20)
letter_code = st.text(
    alphabet=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz"), min_size=1, max_size=4
)

personal_numbers = st.one_of(
    maybe_full_width(written_mobiles).map(lambda number: (number, {MOBILE_PLACEHOLDER})),
    maybe_full_width(written_ids).map(lambda number: (number, {ID_PLACEHOLDER})),
    # A contiguous 18-digit card whose digits 7-14 happen to form a birth date is masked as an ID.
    maybe_full_width(written_cards).map(lambda number: (number, {BANK_CARD_PLACEHOLDER, ID_PLACEHOLDER})),
)


@given(personal_numbers, chinese_text, chinese_text)
def test_a_personal_number_between_chinese_text_never_survives(
    number_and_placeholders: tuple[str, set[str]], before: str, after: str
) -> None:
    number, placeholders = number_and_placeholders
    masked = mask_pii(before + number + after)
    assert masked in {before + placeholder + after for placeholder in placeholders}


@given(maybe_full_width(st.one_of(written_ids, written_cards)), letter_code, letter_code)
def test_an_id_or_a_card_inside_a_letter_code_never_survives(number: str, before: str, after: str) -> None:
    masked = mask_pii(before + number + after)
    assert masked in {before + ID_PLACEHOLDER + after, before + BANK_CARD_PLACEHOLDER + after}


neighbours = st.sampled_from(list(CHINESE + "，。：；“”《》【】"))
any_text = st.one_of(
    st.text(alphabet=st.sampled_from(list("0123456789０１ -+()（）Xx转分机号编年元的")), max_size=25), st.text()
)


@given(personal_numbers, any_text, neighbours, neighbours, any_text)
def test_a_personal_number_is_masked_whatever_the_text_beyond_its_neighbours(
    number_and_placeholders: tuple[str, set[str]], before: str, left: str, right: str, after: str
) -> None:
    number, placeholders = number_and_placeholders
    masked = mask_pii(before + left + number + right + after)
    assert masked in {mask_pii(before + left) + placeholder + mask_pii(right + after) for placeholder in placeholders}


messy_text = st.lists(
    st.one_of(
        chinese_text,
        letter_code,
        written_mobiles,
        written_ids,
        written_cards,
        maybe_full_width(digits(4)),
        st.text(alphabet="0123456789０１２ -+()（）Xx转号年元", max_size=30),
        st.text(max_size=10),
    ),
    max_size=8,
).map("".join)


@given(messy_text)
@example("AAAAAAAA2222")  # a tracking code: masked for reading, but no personal data
def test_masking_is_idempotent_and_leaves_nothing_to_find(text: str) -> None:
    masked = mask_pii(text)
    assert mask_pii(masked) == masked
    assert not contains_pii(masked)
    # Beyond the characters that draw nothing, which masking drops whatever the text holds.
    assert contains_pii(text) == (mask_personal(text) != drop_invisible(text))


# No digits, and none of the characters a spelt-out phone or a name's cue needs.
@given(st.text(alphabet=st.characters(exclude_categories=["Nd"], exclude_characters="零〇一二三四五六七八九幺叫名系")))
def test_text_without_digits_is_never_changed_but_for_what_draws_nothing(text: str) -> None:
    assert mask_pii(text) == drop_invisible(text)
    assert not contains_pii(text)


@given(mobile_numbers, country_codes, separators, st.booleans())
def test_normalize_phone_accepts_every_written_form_of_a_mobile(
    number: str, prefix: str, separator: str, full_width: bool
) -> None:
    written = prefix + grouped(number, (3, 4), separator)
    assert normalize_phone(written.translate(FULL_WIDTH) if full_width else written) == number


@given(st.text(min_size=1, max_size=64))
@example("sgt_45")  # its SHA-256 in hex begins 36cf064322227172: digits shaped like a mobile number
def test_rate_limit_keys_never_read_as_personal_numbers(secret: str) -> None:
    from suggestions.ratelimit import _key

    # The keys are Redis commands' arguments, which the personal-data scan reads; a hex digest sometimes held a
    # run of digits shaped like a mobile number.
    assert not contains_pii(_key("token", secret, b"installation secret"))
    # A local landline is read only after a Chinese word for a phone: the limiter's keys of phones begin "phone:",
    # and their base32 digits (2-7) may run seven long.
    assert not contains_pii("phone:2345672abcdefghijk")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # As a caller's words are typed: a mobile spelt in Chinese numerals.
        ("电话一三九一二三四零零零三，", "电话[手机号]，"),
        ("幺三九一二三四零零零三", "[手机号]"),
        ("二〇一九年三月", "二〇一九年三月"),  # a date spelt out stays
        ("电话139.1234.0003", "电话[手机号]"),
        ("13912345678.50元", "13912345678.50元"),  # an amount, not a phone
        # A tracking code reads an item's reply and rates it.
        ("上次查询码ABCD-2345-EFGH。", "上次查询码[查询码]。"),
        ("查询码 abcd2345efgh 查不到", "查询码 [查询码] 查不到"),
        ("INTERNATIONAL", "INTERNATIONAL"),
        # A name the resident gives.
        ("我叫王秀兰，住3号楼", "我叫[姓名]，住3号楼"),
        ("姓名：李四。", "姓名：[姓名]。"),
        ("我叫苦连天也没人管", "我叫苦连天也没人管"),  # more than a name's three characters
        # A caller's name as an operator writes it down, after the word for who is speaking.
        ("来电人张建国反映小区电梯坏了", "来电人[姓名]反映小区电梯坏了"),
        ("业主李秀英称物业不作为", "业主[姓名]称物业不作为"),
        ("投诉人陈先生（电话略）", "投诉人[姓名]（电话略）"),
        ("来电人 赵六 反映", "来电人 [姓名] 反映"),
        # ... and words that only look like one.
        ("来电人再次反映", "来电人再次反映"),
        ("居民周末反映噪音", "居民周末反映噪音"),
        ("业主方代表称", "业主方代表称"),
        ("业主高度关注此事", "业主高度关注此事"),
        ("来电人称其家中漏水", "来电人称其家中漏水"),
        ("未经二期业主许可，私自占用", "未经二期业主许可，私自占用"),
        ("全体业主谢谢您。", "全体业主谢谢您。"),
        ("业主向物业反映多次", "业主向物业反映多次"),
    ],
)
def test_what_else_gives_a_person_away_is_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected
    assert contains_pii(text) == (text != expected and "查询码" not in expected)
