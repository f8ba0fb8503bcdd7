"""Atomic, deterministic file output.

Every file the pipeline writes goes through :func:`atomic_path`: the content is written to
a temporary file beside the target and renamed over it only when complete, so a failure
never leaves a half-written file and never destroys the last good one. CSV output uses a
fixed format (UTF-8, ``\\n`` line ends, no index) so two runs give byte-identical files.

Spreadsheet formulas: CSVs are opened by analysts in spreadsheet programs, and a text cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run there as a formula (a
title ``=HYPERLINK(...)`` from a shared manifest). As OWASP recommends, :func:`write_csv` (and the
annotation stage's streamed CSVs, through :func:`neutralise_arrow`) write such a cell with a leading
single quote ``'``; a cell that is a plain number (``-3``, ``+1.5e3``) and every numeric column are
left as they are. So that the pipeline reads back exactly what it wrote, a cell of quotes followed
by one of those characters gains one quote more, and :func:`read_text_csv` (:func:`restore_formulas`)
removes one quote from every cell of that form: the round trip is exact.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yaml


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it to ``target`` if the block succeeds.

    The parent folder is created if needed. On any exception the temporary file is removed
    and ``target`` is left exactly as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(target.parent)
    # the process id in the name tells a later run whether the writer is still alive (remove_stale_temporaries)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


#: a temporary file of this project: ``.<name>.<pid>.tmp`` or ``.<name>.<pid>.<random>.tmp``
_TEMPORARY_RE = re.compile(r"^\..+\.([0-9]+)\.(?:[A-Za-z0-9_]+\.)?tmp$")
_SWEPT: set[str] = set()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid < 2**22  # someone else's live process (or an impossible pid: stale)
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files a killed build left in ``folder`` (names ``.<target>.<pid>[.<random>].tmp``
    whose process is gone); those of a live process (a parallel build) are kept. Returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMPORARY_RE.match(entry.name)
        if m and not _alive(int(m.group(1))) and entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _sweep_once(folder: Path) -> None:
    """:func:`remove_stale_temporaries` the first time this process writes into ``folder``."""
    key = str(folder)
    if key not in _SWEPT:
        _SWEPT.add(key)
        remove_stale_temporaries(folder)


def write_text(text: str, target: str | os.PathLike[str]) -> Path:
    """Write ``text`` as UTF-8 to ``target`` atomically; return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(target)


#: a text cell a spreadsheet would run as a formula (after any quotes added before): OWASP's list
FORMULA_RE = r"^'*[=+\-@\t\r]"
#: a text cell that is a plain number, shown by a spreadsheet as that number: never neutralised
NUMBER_RE = r"^[+\-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+\-]?[0-9]+)?$"
#: a cell :func:`neutralise_arrow` prefixed (a formula after one quote more), whose first quote reading takes off
NEUTRALISED_RE = r"^'+[=+\-@\t\r]"


def neutralise_arrow(array: Any) -> Any:
    """An Arrow string array with every formula-like cell prefixed by ``'`` (see the module's docstring)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return array
    risky = pc.and_(pc.match_substring_regex(array, FORMULA_RE), pc.invert(pc.match_substring_regex(array, NUMBER_RE)))
    if not pc.any(risky).as_py():
        return array
    prefixed = pc.binary_join_element_wise(pa.scalar("'", array.type), array, pa.scalar("", array.type))
    return pc.if_else(pc.fill_null(risky, False), prefixed, array)


def neutralise_batch(batch: Any) -> Any:
    """An Arrow record batch with :func:`neutralise_arrow` applied to each text column."""
    import pyarrow as pa

    return pa.RecordBatch.from_arrays([neutralise_arrow(c) for c in batch.columns], schema=batch.schema)


def _restore_arrow(array: Any) -> Any:
    """:func:`restore_formulas` on one Arrow string array (or chunked array): the ``'`` before a neutralised formula
    taken off; ``array`` itself when no cell has one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pc.any(pc.starts_with(array, "'")).as_py():
        return array  # the usual case: no cell starts with a quote
    hit = pc.fill_null(pc.match_substring_regex(array, NEUTRALISED_RE), False)
    if not pc.any(hit).as_py():
        return array
    if isinstance(array, pa.ChunkedArray):  # joined only when something is to be restored
        array, hit = array.combine_chunks(), hit.combine_chunks()
    # Only the cells hit are sliced (the quote is one byte and one character): a copy of the whole column at most.
    return pc.replace_with_mask(array, hit, pc.utf8_slice_codeunits(array.filter(hit), 1))


def restore_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_arrow` on the text columns of ``df`` read from a CSV (in place; returned)."""
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_string_dtype(col.dtype) or col.dtype == object:
            arrow = getattr(col.array, "__arrow_array__", None)
            if arrow is not None:  # Arrow-backed: restored in Arrow, as read_text_csv does
                array = arrow()
                restored = _restore_arrow(array)
                if restored is not array:
                    df[name] = pd.Series(pd.array(restored, dtype=col.dtype), index=col.index)
                continue
            text = col.astype("string")
            hit = text.str.match(NEUTRALISED_RE, na=False)
            if hit.any():
                df.loc[hit.to_numpy(), name] = text[hit].str.slice(1).astype(object).to_numpy()
    return df


#: Rows of a CSV built and written at once by :func:`write_csv` (memory only: the file is the same): a whole table's
#: text built at once, as rows and then one string, was 0.7 GB above the table for the 4x corpus's text_reuse.csv.
CSV_BLOCK_ROWS = 50_000


def write_csv(df: pd.DataFrame, target: str | os.PathLike[str], for_people: bool = True) -> Path:
    """Write ``df`` to ``target`` as CSV (UTF-8, ``\n``, no index) atomically; return the path.

    ``for_people`` (default): text cells a spreadsheet would run as formulas are neutralised with a
    leading ``'`` (see the module's docstring); ``False`` for intermediates in ``build/`` that only
    the pipeline reads.

    The bytes are those of ``df.to_csv(index=False, lineterminator="\\n")``; :func:`csv_text` builds
    them column by column when it can (five to ten times faster on large tables), here
    :data:`CSV_BLOCK_ROWS` rows at a time.
    """
    kinds = _csv_kinds(df)
    with atomic_path(target) as tmp:
        if kinds is None:
            if for_people:
                df = _neutralised(df)
            # pandas cannot quote a bare \r on its own (see _quoted_characters): such a table has every text field quoted
            quoting = csv.QUOTE_NONNUMERIC if _has_carriage_return(df) else csv.QUOTE_MINIMAL
            df.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8", quoting=quoting)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write(_csv_header(df))
                for start in range(0, len(df), CSV_BLOCK_ROWS):
                    block = df.iloc[start:start + CSV_BLOCK_ROWS]
                    fh.write(_csv_rows(_neutralised(block) if for_people else block, kinds))
    return Path(target)


def _neutralised(df: pd.DataFrame) -> pd.DataFrame:
    import pyarrow as pa

    out = None
    for name in df.columns:
        col = df[name]
        if not (pd.api.types.is_string_dtype(col.dtype) and pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty")):
            continue
        arr = pa.array(col, type=pa.large_string(), from_pandas=True)
        safe = neutralise_arrow(arr)
        if safe is arr:
            continue
        if out is None:
            out = df.copy()
        out[name] = pd.Series(safe.to_pylist(), index=df.index, dtype=col.dtype)
    return df if out is None else out


def csv_text(df: pd.DataFrame) -> str | None:
    """``df.to_csv(index=False, lineterminator="\\n")``, built with Arrow a column at a time, or ``None``
    when a column's type is not one handled here (the caller then uses pandas).

    Handled: text (``None``/NaN written empty), integers (nullable too), booleans and float64
    (``repr``, the shortest round-trip form pandas writes; NaN empty). Quoting is the csv module's
    minimal quoting pandas uses: a field holding a comma, a double quote or a line break is quoted,
    its quotes doubled (:func:`_quoted_characters`). Tables of one column (where an empty field is quoted) go to pandas.
    """
    kinds = _csv_kinds(df)
    return None if kinds is None else _csv_header(df) + _csv_rows(df, kinds)


def _csv_kinds(df: pd.DataFrame) -> list[str] | None:
    """How :func:`csv_text` writes each column (``float``, ``bool``, ``int``, ``str``), or ``None`` if it cannot."""
    import numpy as np

    if len(df.columns) < 2 or not all(isinstance(c, str) for c in df.columns):
        return None
    kinds = []
    for name in df.columns:
        series = df[name]
        dtype = series.dtype
        if dtype == np.float64:
            kinds.append("float")
        elif dtype == np.bool_:
            kinds.append("bool")
        elif pd.api.types.is_integer_dtype(dtype):
            kinds.append("int")
        elif pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
            kinds.append("str")
        else:
            return None
    return kinds


def _csv_header(df: pd.DataFrame) -> str:
    import pyarrow as pa

    return ",".join(_minimally_quoted(pa.array(list(df.columns), pa.large_string())).to_pylist()) + "\n"


def _csv_rows(df: pd.DataFrame, kinds: list[str]) -> str:
    """The CSV lines of ``df``'s rows (each ending in ``\\n``), its columns written as ``kinds`` says (:func:`_csv_kinds`)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(df):
        return ""
    columns = []
    for name, kind in zip(df.columns, kinds):
        series = df[name]
        if kind == "float":
            values = series.to_numpy()
            text = pa.array([repr(v) for v in values.tolist()], pa.large_string())
            missing = np.isnan(values)
            if missing.any():
                text = pc.if_else(pa.array(missing), "", text)
        elif kind == "bool":
            text = pc.if_else(pa.array(series.to_numpy()), "True", "False").cast(pa.large_string())
        elif kind == "int":
            text = pc.fill_null(pa.array(series, from_pandas=True).cast(pa.large_string()), "")
        else:
            text = pc.fill_null(pa.array(series, type=pa.large_string(), from_pandas=True), "")
        columns.append(_minimally_quoted(text.cast(pa.large_string())))
    rows = pc.binary_join_element_wise(*columns, pa.scalar(",", pa.large_string()))
    return "\n".join(rows.to_pylist()) + "\n"


def _quoted_characters() -> str:
    """A regex class of the characters that make a field quoted: comma, double quote, ``\\n`` and ``\\r``.

    Python 3.11's csv module (and so pandas) leaves a bare ``\\r`` unquoted when the line terminator is
    ``\\n``; every reader (the csv module, Arrow, pandas, spreadsheets) then ends the row there, so a
    paragraph holding an old Mac line break came back as two broken rows. Quoting it is what newer
    Pythons do and reads back exactly."""
    return r'[,"\r\n]'


def _has_carriage_return(df: pd.DataFrame) -> bool:
    return any(df[c].astype(str).str.contains("\r", regex=False).any()
               for c in df.columns if pd.api.types.is_object_dtype(df[c].dtype) or pd.api.types.is_string_dtype(df[c].dtype))


def _minimally_quoted(text: Any) -> Any:
    """Arrow strings quoted as pandas quotes them (Python's csv module, QUOTE_MINIMAL)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    needs = pc.match_substring_regex(text, _quoted_characters())
    if not pc.any(needs).as_py():
        return text
    quote = pa.scalar('"', pa.large_string())
    quoted = pc.binary_join_element_wise(quote, pc.replace_substring(text, '"', '""'), quote, pa.scalar("", pa.large_string()))
    return pc.if_else(needs, quoted, text)


def write_parquet(df: pd.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write ``df`` to ``target`` as Parquet atomically; return the path."""
    with atomic_path(target) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(target)


def write_arrow(table: Any, target: str | os.PathLike[str]) -> Path:
    """Write a pyarrow ``table`` to ``target`` as an Arrow IPC file (Feather V2, uncompressed), atomically.

    For per-document caches: a Parquet file's fixed cost (writer set-up, footer) is five times an IPC
    file's, a second on 2,000 speeches. The temporary name carries this process's id, so writers in
    several processes never share one (a killed writer's is removed by the next run, as :func:`atomic_path`'s);
    the parent folder must exist.
    """
    import pyarrow as pa

    target = Path(target)
    _sweep_once(target.parent)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def read_arrow(path: str | os.PathLike[str]) -> Any:
    """The pyarrow table of an Arrow IPC file written by :func:`write_arrow`; ``None`` when the file has
    gone (another run removed it) or is not a readable IPC file (the caller recomputes it)."""
    import pyarrow as pa

    try:
        with pa.OSFile(str(path)) as source:
            return pa.ipc.open_file(source).read_all()
    except (OSError, pa.ArrowException):
        return None


def not_utf8(path: Path, data: bytes, what: str) -> str:
    """The message for a file that is not UTF-8: the line and column of the first bad byte (a
    spreadsheet's "CSV" is often Latin-1 or Windows-1252) and what to do."""
    try:
        data.decode("utf-8")
        return f"{path}: not valid UTF-8. Re-save {what} as UTF-8."
    except UnicodeDecodeError as exc:
        start = exc.start
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", "replace")) + 1
    hint = " (in a spreadsheet program: 'CSV UTF-8')" if str(path).lower().endswith(".csv") else ""
    return (f"{path}, line {line}, column {column}: not valid UTF-8 (byte 0x{data[start]:02x}; the file looks saved as "
            f"Latin-1 or Windows-1252). Re-save {what} as UTF-8{hint}.")


def file_stamp(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(size in bytes, modification time in ns) of ``path``, (-1, -1) when it cannot be read: the key under which
    a parsed copy of a file is cached in a process (a notebook kernel runs several sections)."""
    try:
        stat = Path(path).stat()
    except OSError:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


def read_yaml_mapping(path: str | os.PathLike[str], error: type[Exception], missing: str, keys: str,
                      loader: type = yaml.SafeLoader) -> dict:
    """Read a project YAML file whose top level is a mapping; raise ``error`` with one clear message.

    ``missing`` says what the file is and what to do when it does not exist (e.g. "groups
    file not found. Restore data/groups.yml."); ``keys`` names the expected top-level keys for
    the message when the file holds something else. An empty file gives ``{}``.
    """
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise error(f"{path}: {missing}") from None
    except UnicodeDecodeError:
        raise error(not_utf8(path, path.read_bytes(), "the file")) from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc}).") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value YAML reads as a date or number that is not one
        raise error(f"{path}: a value cannot be read ({exc}); a date must be a real day (YYYY-MM-DD). Fix or quote it.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping with keys {keys}.")
    return data


def read_text_csv(path: str | os.PathLike[str], integers: Sequence[str] = ()) -> pd.DataFrame:
    """A CSV with every column as text (``""`` for an empty field): ``pd.read_csv(path, dtype=str,
    keep_default_na=False)``, read by Arrow's multi-threaded reader (about ten times faster on the
    tables this project writes, whose quoted fields may hold line breaks); what Arrow cannot parse
    is read by pandas, so the result and its errors are pandas's.

    ``integers``: columns of whole numbers read as nullable ``Int64`` (``<NA>`` where empty), when every cell of the
    column is one; a column with anything else stays text, for the caller's own conversion."""
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), None)
        if not header or len(set(header)) != len(header) or any(h.strip() != h or not h for h in header):
            raise ValueError("header needs pandas's handling")
        table = pa_csv.read_csv(
            path, parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types={h: pa.string() for h in header}, strings_can_be_null=False,
                                                  quoted_strings_can_be_null=False))
        # One chunk per column (the reader gives one per block of the file): Arrow's take on a chunked column first
        # concatenates its chunks, so every row filter of the table would copy whole columns (0.9 s and 0.29 GB for
        # the text of the complete UN General Debate Corpus, against 0.02 s and the rows kept). Column by column,
        # each freed as it is replaced; large_string (64-bit offsets), as pandas holds text anyway. Formulas are
        # restored here too, in Arrow: pandas's masked assignment took 0.27 s a column on that corpus.
        names, columns = table.column_names, table.columns
        del table
        for i, column in enumerate(columns):
            array = column.chunk(0) if column.num_chunks == 1 else column.cast(pa.large_string()).combine_chunks()
            if names[i] in integers:
                try:
                    array = pc.cast(pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array), pa.int64())
                except pa.ArrowInvalid:  # not whole numbers throughout: text, for the caller to convert
                    pass
            columns[i] = pa.chunked_array([array if pa.types.is_integer(array.type) else _restore_arrow(array)])
        return pa.table(columns, names=names).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    except (ValueError, UnicodeDecodeError, pa.ArrowException):
        return restore_formulas(pd.read_csv(path, dtype=str, keep_default_na=False))

