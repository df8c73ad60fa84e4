"""Decode bytes of unknown encoding: BOMs, strict UTF-8, plausible GB18030, UTF-16, then a guess.

Strict attempts in a fixed order beat a statistical guess for this corpus: Chinese office files
are UTF-8 or GBK/GB18030 (Windows "ANSI"), and Notepad's "Unicode" is UTF-16 with a BOM.
"""

from __future__ import annotations

import codecs
import unicodedata

from ingest.readers.base import Unreadable

# UTF-32 LE before UTF-16 LE: its BOM begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MAGIC = (
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx, which are ZIP files)"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.doc/.xls)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"Rar!", "a RAR archive"),
    (b"\x1f\x8b", "a gzip archive"),
)
_TEXT_WHITESPACE = "\t\n\r\x0b\x0c"
MAX_CONTROL_SHARE = 0.02  # text files hold almost no control characters; binaries hold many
MIN_GB2312_SHARE = 0.8  # GBK text is mostly common (GB2312) hanzi; mis-decoded bytes are not


def decode_text(raw: bytes) -> tuple[str, str]:
    """(text, encoding name) for bytes of a text file, or raise Unreadable."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return _decode_with_bom(raw[len(bom):], name), name
    if b"\x00" in raw:
        guessed = _utf16_without_bom(raw)
        if guessed is None:
            raise _binary(raw, "it contains NUL bytes")
        return guessed
    for attempt in (_strict_utf8, _plausible_gb18030, _charset_normalizer_guess):
        decoded = attempt(raw)
        if decoded is not None:
            if control_share(decoded[0]) > MAX_CONTROL_SHARE:
                raise _binary(raw, "it is mostly control characters")
            return decoded
    raise Unreadable(
        "not text in any known encoding (tried UTF-8, GB18030/GBK, UTF-16 and a statistical guess)",
        "open it in an editor and save it as UTF-8 text, or give the original .docx/.pdf instead")


def control_share(text: str) -> float:
    """Share of characters that are control characters (other than whitespace) or U+FFFD."""
    if not text:
        return 0.0
    bad = sum(1 for ch in text
              if ch == "\ufffd" or (ch < " " and ch not in _TEXT_WHITESPACE) or ch == "\x7f")
    return bad / len(text)


def sniff_binary_kind(raw: bytes) -> str | None:
    """What a binary file probably is, from its first bytes ("a PDF", ...), or None."""
    return next((kind for magic, kind in _MAGIC if raw.startswith(magic)), None)


def _decode_with_bom(body: bytes, name: str) -> str:
    codec = "utf-8" if name == "utf-8-sig" else name
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        raise Unreadable(
            f"starts with a {codec.upper()} byte-order mark but is not valid {codec.upper()} "
            f"(bad bytes at offset {exc.start})",
            "the file is damaged or was cut and pasted between encodings; re-save it as UTF-8") \
            from None


def _strict_utf8(raw: bytes) -> tuple[str, str] | None:
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return None


def _plausible_gb18030(raw: bytes) -> tuple[str, str] | None:
    """GB18030 (a superset of GBK and GB2312) when the result reads like Chinese text."""
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return (text, "gb18030") if _mostly_common_hanzi(text) else None


def _mostly_common_hanzi(text: str) -> bool:
    # GB18030 accepts many byte sequences (Big5, Shift-JIS, UTF-16 fragments) and turns them into
    # rare characters; real GBK text is dominated by the 6,763 common hanzi of GB2312.
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return True
    common = sum(1 for ch in wide if _in_gb2312(ch))
    return common / len(wide) >= MIN_GB2312_SHARE


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _utf16_without_bom(raw: bytes) -> tuple[str, str] | None:
    """UTF-16 without a BOM: ASCII characters leave their NUL bytes all on one side."""
    if len(raw) % 2:
        return None
    nul_even, nul_odd = raw[0::2].count(0), raw[1::2].count(0)
    if nul_odd > 10 * nul_even:
        codec = "utf-16-le"
    elif nul_even > 10 * nul_odd:
        codec = "utf-16-be"
    else:
        return None
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        return None
    return (text, codec) if _reads_like_text(text) else None


def _reads_like_text(text: str) -> bool:
    """No control characters, unassigned or private-use code points to speak of."""
    if control_share(text) > MAX_CONTROL_SHARE:
        return False
    odd = sum(1 for ch in text if unicodedata.category(ch) in ("Cn", "Co", "Cs"))
    return odd <= MAX_CONTROL_SHARE * len(text)


def _charset_normalizer_guess(raw: bytes) -> tuple[str, str] | None:
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.encoding is None:
        return None
    text = str(best)
    return (text, best.encoding) if _reads_like_text(text) else None


def _binary(raw: bytes, why: str) -> Unreadable:
    kind = sniff_binary_kind(raw)
    if kind:
        return Unreadable(f"this is {kind}, not a text file ({why})",
                          "give it the file extension of its real format, or export the text "
                          "to .txt/.docx/.pdf")
    return Unreadable(f"binary data, not text ({why})",
                      "check that this is the right file; export the document as .txt (UTF-8), "
                      ".docx or .pdf")
