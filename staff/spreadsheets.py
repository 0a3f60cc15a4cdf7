"""Safe first looks at uploaded spreadsheets, shared by every import (staff, call-centre
KPIs): the text encoding of a CSV, and what is wrong with an .xlsx judged from its zip
directory alone, before anything is inflated. Callers turn a finding into their own
translated error; nothing here raises."""

import io
import zipfile
from enum import StrEnum

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and encrypted .xlsx)
# A member that inflates more than this many times its compressed size, once it is larger
# than XLSX_RATIO_MIN_BYTES, is taken for a zip bomb.
XLSX_MAX_RATIO = 200
XLSX_RATIO_MIN_BYTES = 1024 * 1024


class XlsxProblem(StrEnum):
    DAMAGED = "damaged"  # not a readable zip archive
    MACROS = "macros"  # a VBA project inside
    NOT_A_WORKBOOK = "not_a_workbook"  # a zip, but no Excel workbook part
    TOO_LARGE = "too_large"  # unpacks past the limit, or a zip bomb


def decode_csv(data: bytes) -> str | None:
    """The text of a CSV upload, or ``None`` when its encoding is not supported.

    utf-8-sig strips a BOM when present and reads plain UTF-8 otherwise. GB18030 is the
    superset of GBK that Chinese Excel writes for "CSV"; it rejects invalid byte sequences
    (0x80, 0xFF, UTF-16), so the order matters and nothing is guessed.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def xlsx_problem(data: bytes, *, max_unpacked_bytes: int) -> XlsxProblem | None:
    """What stops ``data`` from being opened as an .xlsx workbook, from its zip directory
    alone (nothing is inflated), or ``None`` when it may be opened."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return XlsxProblem.DAMAGED
    names = {member.filename.casefold() for member in members}
    if any(name.endswith("vbaproject.bin") for name in names):
        return XlsxProblem.MACROS
    if "xl/workbook.xml" not in names:
        return XlsxProblem.NOT_A_WORKBOOK
    unpacked = sum(member.file_size for member in members)
    bomb = any(
        member.file_size > XLSX_RATIO_MIN_BYTES
        and member.file_size > XLSX_MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if unpacked > max_unpacked_bytes or bomb:
        return XlsxProblem.TOO_LARGE
    return None
