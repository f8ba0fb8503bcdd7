"""Atomic, deterministic file output.

Every file the pipeline writes goes through :func:`atomic_path`: the content is written to
a temporary file beside the target and renamed over it only when complete, so a failure
never leaves a half-written file and never destroys the last good one. CSV output uses a
fixed format (UTF-8, ``\\n`` line ends, no index) so two runs give byte-identical files.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(text: str, target: str | os.PathLike[str]) -> Path:
    """Write ``text`` as UTF-8 to ``target`` atomically; return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(target)


def write_csv(df: pd.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write ``df`` to ``target`` as CSV (UTF-8, ``\\n``, no index) atomically; return the path."""
    with atomic_path(target) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    return Path(target)


def write_parquet(df: pd.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write ``df`` to ``target`` as Parquet atomically; return the path."""
    with atomic_path(target) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(target)


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
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not valid UTF-8 at byte offset {exc.start}. Re-save the file as UTF-8.") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc}).") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping with keys {keys}.")
    return data


def read_text_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV with every column as text (``""`` for an empty field): ``pd.read_csv(path, dtype=str,
    keep_default_na=False)``, read by Arrow's multi-threaded reader (about ten times faster on the
    tables this project writes, whose quoted fields may hold line breaks); what Arrow cannot parse
    is read by pandas, so the result and its errors are pandas's."""
    import csv

    import pyarrow as pa
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
        return table.to_pandas()
    except (ValueError, UnicodeDecodeError, pa.ArrowException):
        return pd.read_csv(path, dtype=str, keep_default_na=False)

