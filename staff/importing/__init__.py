"""Staff bulk import: read a CSV/XLSX file, check every row, preview, then confirm.

A package of four rooms: ``schema`` (the columns and the shapes rows take), ``reading``
(bytes to rows), ``checking`` (rows to checked rows) and ``services`` (preview, confirm,
discard). Callers import from the submodule that owns a name; this file exports nothing.

The flow follows Helios' preview-then-confirm:

1. ``read_staff_file`` turns the uploaded bytes into a ``ParsedFile``: it detects the format
   by content (an XLSX is a zip; the extension alone decides nothing), refuses files that
   are too large, macro-enabled workbooks and zip bombs *before* openpyxl opens them,
   decodes CSV text (UTF-8 with or without BOM, else GB18030, which is what Excel writes in
   China), and maps English or Chinese headers onto the canonical field names. It raises
   ``StaffImportError`` when the file as a whole cannot be used.
2. ``check_staff_rows`` checks every row and collects *every* problem of *every* row (one row
   can have several). Units and positions are looked up in one query each. Valid rows come
   out normalised, with the phone already hashed and masked: the full number is dropped
   here and is never stored, logged or shown.
3. ``preview_staff_import`` stores the checked rows and the row errors in a ``StaffImport``
   (status ``previewed``). Nothing else is written; the HR admin looks at the preview.
4. ``confirm_staff_import`` writes the staff in one transaction (all or nothing): new
   employee numbers are created, changed ones updated, identical ones left untouched, so
   importing the same file twice changes nothing. ``discard_staff_import`` drops a preview.
   Both are transitions of the ``StaffImport`` state machine and write an audit event.

Decisions worth knowing:

* Staff belong to frontline units only (``FRONTLINE_KINDS``: stores, call-centre teams,
  account-manager teams). A row naming a company or branch is an error: branch staff are
  not contestants, and accepting them would put them on every leaderboard of the branch.
* A column absent from the file leaves that field of existing staff as it is; a column
  present but empty in a row clears the field (the file is authoritative for what it has).
* Cells are text. Nothing is evaluated: ``=SUM(A1)`` in a name is stored as those
  characters; exports must escape it (CSV formula injection), not the import.
* XLSX numeric cells: openpyxl returns an ``int`` for ``<v>13800138000</v>``, which holds
  every digit and is accepted; it returns a ``float`` when the stored value has a decimal
  point or an exponent (``1.38001E+10``), whose lost digits cannot be recovered, so a
  float in the phone column is always an error.
* Row errors are stored as translated text in the language of the person who uploaded
  the file, because that person reads the preview.
* Line numbers are the spreadsheet's 1-based row numbers; the header is line 1.
"""
