"""Masking of personal numbers in residents' free text, and validation of contact phone numbers.

Everything staff lists and everything public shows text through `mask_pii`; logs and job payloads never carry the
raw numbers. The rules lean towards masking: privacy beats fidelity, so a mistyped 身份证 number is still masked,
while ordinary numbers (amounts, years, dates, house numbers, postcodes, work-order numbers longer than any of these
patterns) are left alone.

Decisions that apply to every pattern:

- A number never starts or ends next to another digit: "13812345678" inside a 20-digit work-order number belongs to
  that number. A longer run is masked only when the whole run is itself an ID or a bank card.
- A phone-shaped run written straight after ASCII letters is part of a code and stays: work-order numbers such as
  "FZ18050200321" (FZ + YYMMDD + 5 digits) look exactly like mobiles from 2013 on, and so do product codes such as
  "ABC13812345678". The same holds after a reference label such as "编号：". Letters that label a phone ("Tel",
  "mobile") do not shield it. IDs and bank cards carry their own evidence (birth date, Luhn check) and are masked
  whatever their neighbours, so an ID-like or card-like run never leaks. The one letter that belongs to a number is
  the X/x check character closing an 18-character ID.
- Full-width digits and punctuation (全角 input) count the same as ASCII.
- Characters that draw nothing and only steer how text is shown (zero-width spaces, joiners, byte-order marks, soft
  hyphens, bidirectional overrides: Unicode's format characters) are dropped before matching (`drop_invisible`): a
  phone with a zero-width space between its digits reads as a phone.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from suggestions.intake.tracking_code import ALPHABET

MOBILE_PLACEHOLDER = "[手机号]"
LANDLINE_PLACEHOLDER = "[电话]"
ID_PLACEHOLDER = "[身份证号]"
BANK_CARD_PLACEHOLDER = "[银行卡号]"

# Full-width forms, dashes and wide spaces folded to ASCII before matching. The mapping is one character to one
# character, so a position in the folded text is the same position in the original.
_FOLD = str.maketrans(
    "０１２３４５６７８９＋－（）．Ｘｘ\u3000\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63",
    "0123456789+-().Xx  ---------",
)
_DIGIT = re.compile(r"[0-9]")
_NON_DIGIT = re.compile(r"[^0-9]")

# Pattern fragments shared by masking and by contact-phone validation. `_SEP` is what residents put between digit
# groups: a space or a hyphen, or up to three of them (a double space, " - ", or the "——" a Chinese input method
# types for a dash).
_SEP = "[ -]{0,3}"
_NO_DIGIT_BEFORE = r"(?<![0-9])"
_NO_DIGIT_AFTER = r"(?![0-9])"
_NO_DECIMALS_AFTER = r"(?!\.[0-9])"  # "13912345678.50" is an amount, not a phone
_COUNTRY_CODE = rf"\(?(?:\+|00)?86\)?{_SEP}"  # +86, 86, 0086, (+86)
# 3-4-4 groups, separators optional: a space, a hyphen or a dot (139.1234.5678)
_MOBILE_NUMBER = rf"(?P<mobile>1[3-9][0-9](?:{_SEP}|\.)[0-9]{{4}}(?:{_SEP}|\.)[0-9]{{4}})"
# Area codes follow the national plan: 010 and 02x have three characters, every other code has four (0xxx), so a
# run like "075512345678" splits in exactly one way.
# Dialled from abroad (+86 10 6971 2345, 0086-755-…) the code loses its trunk 0, which is written back. A business
# card or a letterhead may write the country code without + or 00: in brackets, or with a space or a dash after it
# ((86)10-69712345, 86-10-69712345).
_AREA_CODE = (
    rf"(?:\(?(?:\+|00)86\)?{_SEP}\(?0?|(?:\(86\)[ -]{{0,3}}|86[ -]{{1,3}})\(?0?|\(?0)"
    rf"(?P<area>10|2[0-9]|[3-9][0-9]{{2}})\)?{_SEP}"
)
_LOCAL_NUMBER = rf"(?P<local>[0-9]{{3,4}}{_SEP}[0-9]{{4}})"  # 7 or 8 digits
_EXTENSION = r"(?:[ ]?(?:转|分机|-|(?i:ext)\.?|\#)[ ]?(?P<extension>[0-9]{1,6}))"

# 18-character 身份证 number: 6-digit region, birth date YYYYMMDD, 3-digit sequence, check character. Written
# whole, 6-8-4 or 6-4-4-4. No region code starts with 0, which keeps "0086 …" phones and landlines out.
_ID_18 = re.compile(
    rf"""
    {_NO_DIGIT_BEFORE}
    [1-9][0-9]{{5}} {_SEP}
    (?P<birth>[0-9]{{4}} {_SEP} [0-9]{{4}}) {_SEP}
    [0-9]{{3}}
    (?:[0-9]{_NO_DIGIT_AFTER} | [Xx])   # only an ID ends in X, so digits may even follow it
    """,
    re.VERBOSE,
)

# 15-digit 身份证 number issued before 1999: region, birth date YYMMDD in the 1900s, 3-digit sequence.
_ID_15 = re.compile(
    rf"""
    {_NO_DIGIT_BEFORE}
    [1-9][0-9]{{5}} {_SEP}
    (?P<birth>[0-9]{{6}}) {_SEP}
    [0-9]{{3}}
    {_NO_DIGIT_AFTER}
    """,
    re.VERBOSE,
)

# Bank card: 16 to 19 digits, whole or in groups of four, the last group holding what is left over. No card number
# starts with 0, which keeps a landline followed by a year ("0591 8765 4321 2023") out.
_BANK_CARD = re.compile(
    rf"""
    {_NO_DIGIT_BEFORE}
    (?P<head>[1-9][0-9]{{3}} (?:{_SEP}[0-9]{{4}}){{3}})
    (?P<tail>{_SEP}[0-9]{{1,3}})?
    {_NO_DIGIT_AFTER}
    """,
    re.VERBOSE,
)

# Mobile number with an optional country code, or with the trunk 0 some people dial before a mobile.
_MOBILE = re.compile(rf"{_NO_DIGIT_BEFORE}(?:{_COUNTRY_CODE}|0)?{_MOBILE_NUMBER}{_NO_DIGIT_AFTER}{_NO_DECIMALS_AFTER}")

# A mobile read out digit by digit and typed so (1 3 9 1 2 3 4 5 6 7 8), or broken over lines or cells (139\n1234\n5678,
# 139\t1234\t5678): one separator at most between any two digits. The leading 1 and the second digit 3-9 keep counts
# and lists out (1 2 3 4 …).
_SPACED_MOBILE = re.compile(
    rf"{_NO_DIGIT_BEFORE}1[ \t\n-]?[3-9](?:[ \t\n-]?[0-9]){{9}}{_NO_DIGIT_AFTER}{_NO_DECIMALS_AFTER}"
)

# Landline with area code, e.g. 010-12345678, (0591)8765 4321, 0755-1234-5678转808; the extension is masked too.
_LANDLINE = re.compile(
    rf"{_NO_DIGIT_BEFORE}{_AREA_CODE}{_LOCAL_NUMBER}{_EXTENSION}?{_NO_DIGIT_AFTER}{_NO_DECIMALS_AFTER}"
)

# A landline without its area code, as callers in the district give it and operators write it down (座机6971 2345):
# seven or eight digits alone are as often an amount, a date or a count, so only after a word for a phone (来电号码: the
# caller ID's), with at most a few of what operators type between (是, a colon, a bracket, a dash, a comma, a slash,
# spaces), or after a number masked just before and 和, 或, 、 or / (`_BLANK`: 电话6971 2345和6971 2346). The number
# alone is masked, not the word. The words are Chinese ones: the rate limiter's keys of looked-up phones read "phone:"
# and base32 (`ratelimit._key`), whose digits run on at times.
_PHONE_WORD = r"(?:电话|座机|固话|手机|联系方式|回电|致电|拨打|热线|来电)(?:号码|号|显示)?"
_LOCAL_LANDLINE = re.compile(
    rf"(?:{_PHONE_WORD}[是为:：()\s,，/-]{{0,4}}|(?<=\x00)[ ]?[和或、/][ ]?)"
    rf"(?P<number>[2-9][0-9]{{2,3}}{_SEP}[0-9]{{4}}{_EXTENSION}?){_NO_DIGIT_AFTER}{_NO_DECIMALS_AFTER}"
)

# The same numbers as a whole contact-phone field. A landline's caller ID shows a mobile from another area with the
# trunk 0 before it (013912345678), which operators type as shown: no area code starts with 01 but 010.
_CONTACT_MOBILE = re.compile(rf"(?:{_COUNTRY_CODE}|0)?{_MOBILE_NUMBER}")
_CONTACT_LANDLINE = re.compile(rf"{_AREA_CODE}{_LOCAL_NUMBER}{_EXTENSION}?")
# A landline as a caller in the district gives it, without the area code they need not dial: no local number starts
# with 0 (a trunk prefix) or 1 (mobiles and service numbers such as 12345).
_CONTACT_LOCAL = re.compile(rf"(?P<local>[2-9][0-9]{{2,3}}{_SEP}[0-9]{{4}}){_EXTENSION}?")
# What `normalize_phone` completes a local landline with: a code of the national plan, with its trunk 0.
AREA_CODE = r"0(?:10|2[0-9]|[3-9][0-9]{2})"

_EARLIEST_BIRTH = date(1900, 1, 1)


def luhn_ok(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn check that bank card numbers carry."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def is_birth_date(yyyymmdd: str) -> bool:
    """Whether eight ASCII digits are a real calendar date between 1900-01-01 and today.

    Only the birth date decides whether an 18-character run is an ID: the check character is not consulted, because a
    resident who mistypes one digit of their ID has still written down their ID.
    """
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return _EARLIEST_BIRTH <= born <= date.today()


def _digits(number: str) -> str:
    return _NON_DIGIT.sub("", number)


# What may come straight before a reference number: a letter code ("FZ", "SN", but not the X closing an ID) or a
# reference label ("诉求编号：（").
_REFERENCE_BEFORE = re.compile(
    r"(?:(?<![A-Za-z0-9])(?P<letters>[A-Za-z]+)|(?:编号|单号|件号|案号)[为是]?[:：]?[ (]*)\Z"
)
_PHONE_LABELS = frozenset({"tel", "phone", "mobile", "mob", "cell", "fax"})


def _is_reference(match: re.Match[str]) -> bool:
    """Whether a phone-shaped match is the digit part of a work-order number or product code."""
    start = match.start()
    before = _REFERENCE_BEFORE.search(match.string, max(0, start - 16), start)
    if before is None:
        return False
    letters = before["letters"]
    return letters is None or letters.lower() not in _PHONE_LABELS


def _phone_end(match: re.Match[str]) -> int | None:
    return None if _is_reference(match) else match.end()


def _id_18_end(match: re.Match[str]) -> int | None:
    return match.end() if is_birth_date(_digits(match["birth"])) else None


def _id_15_end(match: re.Match[str]) -> int | None:
    return match.end() if is_birth_date("19" + _digits(match["birth"])) else None


def _bank_card_end(match: re.Match[str]) -> int | None:
    if luhn_ok(_digits(match[0])):
        return match.end()
    # "6222 0212 3456 7890 123" may be a 16-digit card followed by an unrelated short number.
    tail = match["tail"]
    if tail is not None and tail[0] in " -" and luhn_ok(_digits(match["head"])):
        return match.end("head")
    return None


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    placeholder: str
    # Where the personal number in a match ends (a card may end before the match does), or None when the match is
    # an ordinary number that merely has the right shape.
    personal_end: Callable[[re.Match[str]], int | None]
    # The group where it starts: the whole match, or the number after the word that says it is one.
    group: int | str = 0


# Order matters: an ID or a card may contain a run shaped like a phone, never the other way round.
_RULES = (
    _Rule(_ID_18, ID_PLACEHOLDER, _id_18_end),
    _Rule(_ID_15, ID_PLACEHOLDER, _id_15_end),
    _Rule(_BANK_CARD, BANK_CARD_PLACEHOLDER, _bank_card_end),
    _Rule(_MOBILE, MOBILE_PLACEHOLDER, _phone_end),
    _Rule(_SPACED_MOBILE, MOBILE_PLACEHOLDER, _phone_end),
    _Rule(_LANDLINE, LANDLINE_PLACEHOLDER, _phone_end),
    _Rule(_LOCAL_LANDLINE, LANDLINE_PLACEHOLDER, lambda match: match.end("number"), group="number"),
)

# What else in free text gives a person away, masked after the numbers: a mobile spelt in Chinese numerals
# (一三九一二三四五六七八, as a caller's words are typed), an item's tracking code (it reads the item's reply and
# rates it), a name after 我叫, 姓名 or 联系人, and one after the word for who is speaking (`_ROLE_NAMED`).
_NUMERAL = "零〇一二三四五六七八九幺"
_SPELT_MOBILE = re.compile(rf"(?<![{_NUMERAL}])[一幺][三四五六七八九][{_NUMERAL}]{{9}}(?![{_NUMERAL}])")
_CODE_SYMBOL = ALPHABET + ALPHABET.lower()  # a tracking code's symbols, typed in either case
_TRACKING_CODE = re.compile(
    rf"(?<![0-9A-Za-z])(?:[{_CODE_SYMBOL}]{{4}}-[{_CODE_SYMBOL}]{{4}}-[{_CODE_SYMBOL}]{{4}}"
    rf"|(?=[{_CODE_SYMBOL}]*[0-9])(?=[{_CODE_SYMBOL}]*[A-Za-z])[{_CODE_SYMBOL}]{{12}})(?![0-9A-Za-z])"
)
_NAMED = re.compile(r"(?:我叫|姓名[:：是]?|联系人[:：是]?)\s*([\u4e00-\u9fff]{2,3})(?=[^\u4e00-\u9fff]|$)")
# A caller's or a resident's full name as operators and grid workers write it down: after the word for who they are
# (来电人张建国反映, 业主李秀英称, 村民王某某：), a common surname and one or two characters more, then a word of
# speaking or punctuation. Surnames that are also everyday words after such a word are left out (方 in 业主方代表,
# 向 in 业主向物业反映), and so are characters no given name holds beside a speaking word (周末反映 is a weekend,
# 业主许可 a permission, 业主谢谢您 thanks); 王先生 and 李女士 are masked too, though many share them.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭"
    "陆汪范金石廖贾夏韦傅邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱严覃武戴莫孔汤"
)
_NOT_IN_A_NAME = (
    "反映称表示说投诉举报咨询问求助要希望诉来电再次多均都也又一们等面些家人员户主民工的了在是有和与及或末边围谢您你我"
    "他她其子可"
)
_ROLE_NAMED = re.compile(
    r"(?:来电人|来电者|来信人|反映人|投诉人|举报人|求助人|当事人|业主|住户|居民|市民|村民|租户|工人)\s*"
    rf"([{_SURNAMES}][^{_NOT_IN_A_NAME}\W\d_a-zA-Z]{{1,2}}?)"
    r"(?=反映|称|表示|来电|说|投诉|举报|咨询|询问|求助|要求|希望|[，,。：:（(、；;\s])"
)
_NAME_RULES = (_NAMED, _ROLE_NAMED)  # the name is each match's first group
_LETTER = re.compile("[A-Za-z]")
SPELT_MOBILE_PLACEHOLDER = MOBILE_PLACEHOLDER
TRACKING_CODE_PLACEHOLDER = "[查询码]"
NAME_PLACEHOLDER = "[姓名]"


def _mask_words(text: str) -> str:
    text = _SPELT_MOBILE.sub(SPELT_MOBILE_PLACEHOLDER, text)
    for rule in _NAME_RULES:
        text = rule.sub(lambda m: m[0][: m.start(1) - m.start()] + NAME_PLACEHOLDER, text)
    return text


def _mask_codes(text: str) -> str:
    # A code has letters: four groups of digits are a card or an ID, masked as such before this runs.
    return _TRACKING_CODE.sub(lambda m: TRACKING_CODE_PLACEHOLDER if _LETTER.search(m[0]) else m[0], text)


# Stands in for a masked number while later rules run: not a digit, not a separator, not a bracket.
_BLANK = "\x00"


def _personal_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, placeholder) of every personal number in text, in order."""
    working = text.translate(_FOLD)
    if _DIGIT.search(working) is None:
        return []
    spans: list[tuple[int, int, str]] = []
    for rule in _RULES:
        position = 0
        while (match := rule.pattern.search(working, position)) is not None:
            end = rule.personal_end(match)
            if end is None:
                # The shape fitted but the number is ordinary; a personal number may still start after one of its
                # separators, so look again from the next character rather than after the whole match.
                position = match.start() + 1
                continue
            start = match.start(rule.group)
            spans.append((start, end, rule.placeholder))
            # Later rules must neither match inside a masked number nor see its digits as neighbours.
            working = working[:start] + _BLANK * (end - start) + working[end:]
            position = end
    return sorted(spans)


_TRAILING_EXTENSION = re.compile(_EXTENSION + "$")


def _kept(number: str, keep: frozenset[str]) -> bool:
    """Whether a number is one of `keep` (`public_phones`' lines): an office's line, with any extension, is public."""
    if not keep:
        return False
    try:
        return phone_line(normalize_phone(number)) in keep
    except ValueError:
        # A local landline (`_LOCAL_LANDLINE`): an office number of the district written as it is dialled there.
        return f"{_LOCAL}{_digits(_TRAILING_EXTENSION.sub('', number))}" in keep


def _mask_once(text: str, keep: frozenset[str] = frozenset()) -> str:
    pieces: list[str] = []
    position = 0
    for start, end, placeholder in _personal_spans(text):
        if _kept(text[start:end], keep):
            continue
        pieces += (text[position:start], placeholder)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def drop_invisible(text: str) -> str:
    """Text without Unicode's format characters (category Cf): nothing a reader sees, yet they hide a number from
    masking and a word from grouping (139, a zero-width space, 1234...), or show the words after a right-to-left
    override reversed. An emoji joined of several (a family) falls apart into its parts, which say the same."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def mask_pii(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Text as staff and operators read it: `mask_personal`, and another item's tracking code masked too (it reads
    that item's reply and rates it). `keep`: phones, in `normalize_phone`'s form, left as written (the office numbers
    a reply tells residents to call, `public_phones`); only for what staff write."""
    return _mask_codes(mask_personal(text, keep))


def mask_personal(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Text with each mobile, landline, 身份证 and bank card number replaced by a placeholder such as "[手机号]", and a
    mobile spelt in Chinese numerals and a name after 我叫, 姓名 or 来电人 too (`_mask_words`); the phones in `keep`
    stay."""
    text = drop_invisible(text)
    masked = _mask_once(text, keep)
    # Repeat until nothing is left to mask, so that the result never holds anything `contains_pii` would find,
    # whatever a masked number changed about its neighbours (a kept number is left, so the loop still ends).
    while masked != text:
        text, masked = masked, _mask_once(masked, keep)
    return _mask_words(masked)


# Marks the local form of an office number of the district in `public_phones`: its digits as dialled there.
_LOCAL = "local:"


def public_phones(setting: str, *, area_code: str = "") -> frozenset[str]:
    """The lines (`phone_line`) of SUGGESTIONS_PUBLIC_PHONES (separated by commas), in `normalize_phone`'s form, and
    those of the district (`area_code`) as dialled there too, without it. A value that is no phone raises ValueError
    naming it: the service does not start with a list it would silently ignore."""
    numbers = set()
    for value in re.split(r"[,，;；]", setting):
        value = value.strip()
        if not value:
            continue
        try:
            number = normalize_phone(value, area_code=area_code)
        except ValueError:
            raise ValueError(f"SUGGESTIONS_PUBLIC_PHONES: {value!r} is no phone number") from None
        # Its line: a department's extension of an office's number is the office's, and so is every other.
        number = phone_line(number)
        numbers.add(number)
        code, _, local = number.partition("-")
        if area_code and code == area_code:
            numbers.add(f"{_LOCAL}{_digits(local)}")
    return frozenset(numbers)


def public_lines(phones: frozenset[str]) -> list[str]:
    """The lines (`phone_line`) of `public_phones`' numbers, without the local forms it adds for masking."""
    return sorted({phone_line(phone) for phone in phones if not phone.startswith(_LOCAL)})


def contains_pii(text: str) -> bool:
    """Whether `mask_personal` would change text: it holds a personal number or a name. A tracking code is no
    personal data (it stands in the API's own paths by design), though `mask_pii` masks it too."""
    text = drop_invisible(text)
    return bool(_personal_spans(text) or _SPELT_MOBILE.search(text) or any(r.search(text) for r in _NAME_RULES))


_PHONE_OR_ID = frozenset({MOBILE_PLACEHOLDER, LANDLINE_PLACEHOLDER, ID_PLACEHOLDER})
# The first two digits of a 身份证 number: its province's code (GB/T 2260; 71 Taiwan, 81 and 82 Hong Kong and Macao,
# 83 and 91 the permits of their residents and of foreigners).
_PROVINCES = frozenset(
    {
        *(str(code) for code in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55))),
        *(str(code) for code in (*range(61, 66), 71, 81, 82, 83, 91)),
    }
)


def holds_phone_or_id(text: str) -> bool:
    """Whether text holds a mobile, a landline with its area code or a 身份证 number, as masking finds them. A
    work-order number does not, though its digits may be shaped like a mobile after its letters (FZ18050200321); nor
    does a long one that passes a bank card's check by chance, one in ten; nor one of a date and a sequence whose
    digits read as a birth date in an ID's place (202611300123456, one in thirty of 15 digits) but which starts with
    no province's code. Masking, which leans towards privacy, masks that one all the same."""
    text = drop_invisible(text)
    return any(
        placeholder in _PHONE_OR_ID
        and (placeholder != ID_PLACEHOLDER or _digits(text[start:end].translate(_FOLD))[:2] in _PROVINCES)
        for start, end, placeholder in _personal_spans(text)
    )


EXTENSION_MARK = "转"


def phone_line(phone: str) -> str:
    """A phone in `normalize_phone`'s form without its extension: the line a caller is known by. Their caller ID shows
    no extension, and they give one at times and not at others; the extension is for calling them back. The database
    compares phones so too (`split_part(phone, '转', 1)`, migration 0160)."""
    return phone.partition(EXTENSION_MARK)[0]


def normalize_phone(value: str, *, area_code: str = "") -> str:
    """A contact phone field in canonical form: "13812345678" for a mobile, "010-12345678" for a landline.

    A landline extension is kept as "010-12345678转123" so that staff can still reach the resident. `area_code` (the
    district's, `AREA_CODE`'s form) completes a local landline written without one, so that a caller is one phone
    however the number was typed; without it, a local landline is refused.
    """
    folded = drop_invisible(value).translate(_FOLD).strip()
    if (mobile := _CONTACT_MOBILE.fullmatch(folded)) is not None:
        return _digits(mobile["mobile"])
    if (landline := _CONTACT_LANDLINE.fullmatch(folded)) is not None:
        area_code = f"0{landline['area']}"
    elif area_code:
        landline = _CONTACT_LOCAL.fullmatch(folded)
        # Where the area code has three characters (010, 02x) every local number has eight digits: seven is a slip.
        if landline is not None and len(area_code) == 3 and len(_digits(landline["local"])) != 8:
            landline = None
    if landline is not None:
        number = f"{area_code}-{_digits(landline['local'])}"
        extension = landline["extension"]
        return number if extension is None else f"{number}{EXTENSION_MARK}{extension}"
    # The rejected value stays out of the message: messages end up in logs.
    raise ValueError(
        "电话号码格式不正确：请填写手机号或固定电话 / "
        "invalid phone number: expected a Chinese mobile number or a landline number"
    )
