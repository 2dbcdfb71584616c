"""Text in worklist cells: lossless for any file name, inert in a spreadsheet.

Two transformations, each undone by :func:`decode_worklist_cell`:

* **Undecodable bytes and terminal controls.** On POSIX a file name is
  bytes; Python shows a byte that is not UTF-8 as a lone surrogate
  (``os.fsdecode``), which no UTF-8 file can hold. A name may also hold
  control characters that a terminal or a viewer showing the worklist would
  obey: ESC and CSI sequences (a row could erase the row above it), a
  carriage return (the rest of the row overwrites the name), bidirectional
  overrides (the name shows reversed). In a text that holds either, every
  such byte is written ``\\xHH`` (a C1 control ``\\u00HH``, a bidirectional
  control ``\\u202e`` and the like), and every backslash ``\\x5c``; only tab
  is left as it is. A text without one is written as it
  is, unless it already contains something that reads as such an escape
  (``\\xHH``, or ``\\u`` and a surrogate's four hex digits): then it is escaped
  the same way, so that decoding never changes a name it should not. Windows
  paths (``C:\\scans\\film.png``) are therefore written unchanged.
* **Formulas.** A cell that a spreadsheet would run as a formula (first
  character ``=``, ``+``, ``-``, ``@``, tab or carriage return: OWASP's "CSV
  injection" list) gets a single quote ``'`` in front, which makes the
  spreadsheet show the text as it is. A cell that already starts with quotes
  before such a character gets one more, so removing one quote always
  restores the text.
"""

import codecs
import re
import unicodedata

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# What decoding reads as an escape: a byte, or (from Windows) a lone UTF-16 surrogate.
_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})")
_SURROGATE = re.compile("[\ud800-\udfff]")

def _hidden(ch):
    """A character a viewer obeys or hides rather than shows: a control but tab, a line or
    paragraph separator (str.splitlines breaks at them), a format character (bidirectional
    marks and overrides, zero-width characters, the soft hyphen, the Arabic letter mark)."""
    return ch != "\t" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def _escaped_code(code):
    """Whether ``\\uXXXX`` with this code is one of our escapes (else it is literal text)."""
    return 0xD800 <= code <= 0xDFFF or (code >= 0x80 and _hidden(chr(code)))
_NEUTRALISED = re.compile("'+[=+\\-@\t\r]")
_NEEDS_QUOTE = re.compile("'*[=+\\-@\t\r]")


def escape_undecodable(text):
    """``text`` with undecodable bytes and control characters escaped (``\\`` as ``\\x5c``); valid UTF-8."""
    if not (_SURROGATE.search(text) or any(_hidden(ch) for ch in text)
            or any(_is_our_escape(match) for match in _ESCAPE.finditer(text))):
        return text
    return "".join(_escape_char(ch) for ch in text)


def _escape_char(ch):
    code = ord(ch)
    if ch == "\\":
        return "\\x5c"
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF or (code >= 0x80 and _hidden(ch)):
        return f"\\u{code:04x}"
    if _hidden(ch):
        return f"\\x{code:02x}"
    return ch


def _is_our_escape(match):
    return match.group(1) is not None or _escaped_code(int(match.group(2), 16))


def unescape_undecodable(text):
    """Undo :func:`escape_undecodable`: the name as ``os.fsdecode`` gives it."""

    def char(match):
        if match.group(1) is not None:
            byte = int(match.group(1), 16)
            return chr(byte) if byte < 0x80 else chr(0xDC00 + byte)
        code = int(match.group(2), 16)
        return chr(code) if _escaped_code(code) else match.group(0)

    return _ESCAPE.sub(char, text)


def neutralise_formula(text):
    """``text`` with a ``'`` in front when a spreadsheet would read it as a formula."""
    return "'" + text if _NEEDS_QUOTE.match(text) else text


def worklist_text(text):
    """A text cell of the worklist: undecodable bytes escaped, formulas neutralised."""
    return neutralise_formula(escape_undecodable(text))


def decode_worklist_cell(cell):
    """The original text of a worklist CSV text cell (``path``, ``reason``, DICOM fields...).

    Undoes what ``skcxr screen`` does to keep the CSV valid UTF-8 and safe in
    a spreadsheet: removes the ``'`` put before a text starting with ``=``,
    ``+``, ``-``, ``@``, tab or carriage return, and turns ``\\xHH`` escapes
    back into the bytes of a file name that is not UTF-8 (or into the
    control characters it holds). ``open(decoded)``
    then opens the file the row is about.

    Parameters
    ----------
    cell : str
        A cell as read by :mod:`csv` from the worklist.

    Returns
    -------
    text : str
        The text; a file name with bytes that are not UTF-8 holds them as
        ``os.fsdecode`` does (``os.fsencode(text)`` gives the bytes).

    Examples
    --------
    >>> decode_worklist_cell("'=HYPERLINK(1)")
    '=HYPERLINK(1)'
    >>> import os
    >>> os.fsencode(decode_worklist_cell("scans/IM-\\\\xff.jpeg"))
    b'scans/IM-\\xff.jpeg'
    """
    if _NEUTRALISED.match(cell):
        cell = cell[1:]
    return unescape_undecodable(cell)


def _escape_on_encode(error):
    """Codec error handler: what cannot be encoded is written as :func:`escape_undecodable` does."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(_escape_char(ch) for ch in error.object[error.start:error.end]), error.end


# For texts written whole rather than cell by cell (the HTML report's command line, model
# name): a surrogate-escaped byte becomes \xHH there too instead of failing the write.
ESCAPE_ERRORS = "skcxr.escape-undecodable"
codecs.register_error(ESCAPE_ERRORS, _escape_on_encode)
