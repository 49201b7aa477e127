"""Files and folders of CloudTrail logs → one normalised polars DataFrame.

Formats are detected by content, not by name: delivered log files (``{"Records": [...]}``,
gzip or plain), JSON Lines of records, a JSON array of records, LookupEvents output
(``{"Events": [{"CloudTrailEvent": "<json>"}]}``) and EventBridge envelopes
(``{"detail-type": ..., "detail": {record}}``).

How it works. Reader threads (one more than the cores) each take a batch of files from bytes
to a normalised frame, in order:

1. gunzip (libdeflate, checked against the gzip trailer; python-isal for anything odd);
2. delivered log files go through the compiled scanner (:mod:`trailkit._scan`: C, or numba
   where no C compiler was at hand at install): one strict JSON pass that notes where every
   top-level value lies and parses ``eventTime``, then a copy of those byte ranges into Arrow
   buffers — text unescaped, nested blocks as the exact bytes of the file. Other formats (and
   small loads when the scanner is numba's) use msgspec instead (typed records, blocks as
   ``msgspec.Raw`` bytes), which gives the same columns;
3. vectorised polars expressions build the normalised columns and flag problems.

Meanwhile the main thread derives the identity columns of each new distinct ``userIdentity``.
At the end duplicates are dropped (by hash first), events sorted by time and the identity
columns joined. The scanner and polars release the GIL, so the threads use every core.
Anything the fast paths cannot take (bad UTF-8, a field of an unexpected type, a record that is
not an object, a truncated file) sends just that file down a careful per-record path that keeps
every good record and reports the rest. Loads can be cached (``cache=``): each batch as
Parquet, and the whole answer as uncompressed Arrow that the next load of the same files
memory-maps. Speed and memory are measured in ``benchmarks/`` (see the README).

>>> import trailkit
>>> df = trailkit.read_events("data/samples", regions=["eu-west-1"])  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import glob as _glob
import hashlib
import json
import os
import re
import shutil
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa

from trailkit import _scan  # the scanner's front (numpy and ctypes; numba only if it falls back)
from trailkit.errors import InputError, LoadError
from trailkit.identity import USER_IDENTITY_DTYPE, identity_columns, nonempty, parse_bool, parse_utc
from trailkit.problems import LoadReport, Problem
from trailkit.schema import DEDUP_KEY, SCHEMA
from trailkit.times import to_utc

try:  # python-isal gunzips about twice as fast as zlib; fall back when it is missing
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover
    import gzip as _gzip  # type: ignore[no-redef]
try:  # libdeflate is faster still for a whole single-member file (see _gunzip)
    import deflate as _deflate
except ImportError:  # pragma: no cover
    _deflate = None

OnError = Literal["warn", "raise", "ignore"]

#: bump when the normalised output changes, so old cache files are not reused
CACHE_VERSION = "2"

# CloudTrail top-level field -> normalised column (text columns copied as they are)
_TEXT_FIELDS: dict[str, str] = {
    "eventID": "event_id",
    "eventName": "event_name",
    "eventSource": "event_source",
    "eventType": "event_type",
    "eventCategory": "event_category",
    "eventVersion": "event_version",
    "awsRegion": "aws_region",
    "recipientAccountId": "recipient_account_id",
    "requestID": "request_id",
    "sharedEventID": "shared_event_id",
    "vpcEndpointId": "vpc_endpoint_id",
    "vpcEndpointAccountId": "vpc_endpoint_account_id",
    "apiVersion": "api_version",
    "sourceIPAddress": "source_ip",
    "userAgent": "user_agent",
}
_RAW_FIELDS: dict[str, str] = {
    "userIdentity": "user_identity",
    "requestParameters": "request_parameters",
    "responseElements": "response_elements",
    "additionalEventData": "additional_event_data",
    "resources": "resources",
    "serviceEventDetails": "service_event_details",
    "tlsDetails": "tls_details",
    "addendum": "addendum",
    "insightDetails": "insight_details",
}
_OTHER_FIELDS = ("eventTime", "readOnly", "managementEvent", "errorCode", "errorMessage",
                 "sessionCredentialFromConsole")
# documented but rare top-level fields: kept together in ``extra_fields``
_EXTRA_FIELDS = ("eventContext", "edgeDeviceDetails", "annotation")
_ALL_FIELDS = (*_TEXT_FIELDS, *_RAW_FIELDS, *_OTHER_FIELDS, *_EXTRA_FIELDS)
_STAGE1_SCHEMA = {name: pl.String for name in _ALL_FIELDS}
# nested blocks are cut out of the record text by msgspec as exact bytes (see _record_struct)
_BLOCK_FIELDS = (*_RAW_FIELDS, *_EXTRA_FIELDS)
# blocks that must be JSON objects (a text field of another type is caught by msgspec and
# reported by the careful path; a block that is a plain string is caught by _normalise)
_OBJECT_FIELDS = ("userIdentity", "requestParameters", "responseElements", "additionalEventData",
                  "serviceEventDetails", "tlsDetails", "addendum", "insightDetails")

# [prefix/]AWSLogs/[o-org/]<account>/<kind>/<region>/YYYY/MM/DD/<file>
_LAYOUT = re.compile(
    r"(?:^|/)AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/"
    r"(?P<kind>CloudTrail(?:-[A-Za-z]+)?)/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
)
_LOG_SUFFIXES = (".json.gz", ".json", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz")
_NOT_EVENT_KINDS = {"CloudTrail-Digest"}


# --------------------------------------------------------------------------------------------
# finding files


@dataclass(frozen=True)
class LogFile:
    """A file to read, with what its path says about it (None where the path says nothing)."""

    path: str
    size: int
    mtime_ns: int
    account: str | None = None
    region: str | None = None
    day: date | None = None
    org: str | None = None


def _layout_of(path: str) -> dict[str, Any] | None:
    # the layout is in the folders: one regex per folder, not per file
    return _folder_layout(os.path.dirname(path) + os.sep)


@functools.lru_cache(maxsize=65536)
def _folder_layout(folder: str) -> dict[str, Any] | None:
    m = _LAYOUT.search(folder.replace(os.sep, "/"))
    if not m:
        return None
    try:
        day = date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        day = None
    return {"account": m["account"], "region": m["region"], "day": day, "org": m["org"],
            "kind": m["kind"]}


def _is_log_name(name: str) -> bool:
    low = name.lower()
    return low.endswith(_LOG_SUFFIXES) and not low.endswith(".metadata.json")


def discover_files(source: str | os.PathLike | Sequence[str | os.PathLike]) -> tuple[list[str], list[str]]:
    """Expand ``source`` (file, folder walked recursively, glob, or a list of these) into paths.

    Returns ``(log_files, ignored)``: files under a ``CloudTrail-Digest`` folder, S3 metadata
    side-cars and names that are not JSON (README, Parquet, ...) found while walking a folder
    are ignored; a file named explicitly is always read.

    >>> discover_files("does/not/exist")
    Traceback (most recent call last):
    ...
    trailkit.errors.InputError: does/not/exist: no such file, folder or glob match. Check the path (relative paths start at the current folder: ...).
    """
    sources: Iterable[str | os.PathLike]
    sources = [source] if isinstance(source, str | os.PathLike) else source
    files: list[str] = []
    ignored: list[str] = []
    for src in sources:
        s = os.fspath(src)
        if os.path.isfile(s):
            files.append(s)
            continue
        if os.path.isdir(s):
            candidates = (os.path.join(d, n) for d, _, names in os.walk(s) for n in names)
        elif any(ch in s for ch in "*?["):
            candidates = (p for p in _glob.glob(s, recursive=True) if os.path.isfile(p))
        else:
            raise InputError(
                f"{s}: no such file, folder or glob match. Check the path (relative paths "
                f"start at the current folder: {os.getcwd()})."
            )
        for p in candidates:
            lay = _layout_of(p)
            if (lay and lay["kind"] in _NOT_EVENT_KINDS) or not _is_log_name(os.path.basename(p)):
                ignored.append(p)
            else:
                files.append(p)
    if len(sources) == 1:  # one folder walk or glob names each file once
        return sorted(files), sorted(ignored)
    # the same file named twice is read once (by absolute path: resolving links costs ~30 µs a file)
    seen: set[str] = set()
    unique = []
    for p in files:
        key = _absolute(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return sorted(unique), sorted(ignored)


def _absolute(path: str) -> str:
    """``os.path.abspath``, with the folder part worked out once per folder (and cwd)."""
    folder, name = os.path.split(path)
    return os.path.join(_absolute_folder(folder, "" if os.path.isabs(folder) else os.getcwd()), name)


@functools.lru_cache(maxsize=65536)
def _absolute_folder(folder: str, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, folder)) if cwd else os.path.normpath(folder)


def select_files(
    paths: Iterable[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    regions: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
) -> tuple[list[LogFile], int]:
    """Keep the files whose delivery path can hold events in the window, regions and accounts.

    Folder dates are delivery dates (UTC), so a day of margin is allowed on each side.
    Files outside the delivery layout are always kept (their rows are filtered later).
    Returns ``(files, number_skipped)``.

    >>> select_files(["AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/10/x.json.gz"],
    ...              regions=["us-east-1"])
    ([], 1)
    """
    regions_set = set(regions) if regions else None
    accounts_set = {str(a) for a in accounts} if accounts else None
    lo = (start - timedelta(days=1)).date() if start else None
    hi = (end + timedelta(days=1)).date() if end else None
    out: list[LogFile] = []
    skipped = 0
    for p in paths:
        lay = _layout_of(p)
        if lay:
            if (regions_set and lay["region"] not in regions_set) or (
                accounts_set and lay["account"] not in accounts_set
            ):
                skipped += 1
                continue
            d = lay["day"]
            if d and ((lo and d < lo) or (hi and d > hi)):
                skipped += 1
                continue
        try:
            st = os.stat(p)
        except OSError:
            st = None
        out.append(
            LogFile(
                p,
                st.st_size if st else -1,
                st.st_mtime_ns if st else -1,
                **({k: lay[k] for k in ("account", "region", "day", "org")} if lay else {}),
            )
        )
    return out, skipped


# --------------------------------------------------------------------------------------------
# reading one file into record lines


class _LookupEvent(msgspec.Struct):
    CloudTrailEvent: str | None = None


class _Envelope(msgspec.Struct, rename={"detail_type": "detail-type"}):
    """The top level of any supported document; only the keys that tell formats apart.

    Raw fields are typed ``msgspec.Raw`` with a None default (a ``Raw | None`` union would
    reject objects).
    """

    Records: msgspec.Raw = None  # type: ignore[assignment]
    Events: msgspec.Raw = None  # type: ignore[assignment]
    detail: msgspec.Raw = None  # type: ignore[assignment]
    detail_type: msgspec.Raw = None  # type: ignore[assignment]
    eventTime: msgspec.Raw = None  # type: ignore[assignment]
    eventName: msgspec.Raw = None  # type: ignore[assignment]
    eventID: msgspec.Raw = None  # type: ignore[assignment]
    eventSource: msgspec.Raw = None  # type: ignore[assignment]


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_LOOKUP_LIST = msgspec.json.Decoder(list[_LookupEvent])


_NO_BLOCK = msgspec.Raw(b"")
# text fields decoded as str by msgspec; a value of another JSON type sends the file down the
# careful path, which keeps the record and reports the field
_STR_FIELDS = tuple(n for n in _ALL_FIELDS if n not in _BLOCK_FIELDS
                    and n not in ("readOnly", "managementEvent", "sessionCredentialFromConsole"))
# booleans that real logs also write as strings: kept as their JSON text, parsed by polars
_RAW_SCALARS = ("readOnly", "managementEvent", "sessionCredentialFromConsole")
_RAW_TEXT = (*_BLOCK_FIELDS, *_RAW_SCALARS)


def _record_struct(forbid_unknown: bool = True) -> type:
    """The msgspec struct of one record: text fields as ``str``, everything else as exact bytes.

    An absent field is None (text) or an empty ``Raw`` (blocks); an explicit JSON ``null``
    block is ``Raw(b"null")``; both become null in the frame.
    """
    fields = [(n, str | None, None) for n in _STR_FIELDS]
    fields += [(n, msgspec.Raw, _NO_BLOCK) for n in _RAW_TEXT]
    # a field this struct does not name fails the decode (msgspec would otherwise drop it
    # without a word); _decode_records then decodes again and keeps it in extra_fields
    return msgspec.defstruct("_Record", fields, forbid_unknown_fields=forbid_unknown)


_Record = _record_struct()
_RECORD_LIST = msgspec.json.Decoder(list[_Record])  # type: ignore[valid-type]
_FILE_RECORDS = msgspec.json.Decoder(msgspec.defstruct("_File", [("Records", list[_Record])]))  # type: ignore[valid-type]
_LooseRecord = _record_struct(forbid_unknown=False)
_LOOSE_LIST = msgspec.json.Decoder(list[_LooseRecord])  # type: ignore[valid-type]
_RAW_DICT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_KNOWN_FIELDS = frozenset(_ALL_FIELDS)


def _unknown_text(record: bytes) -> str | None:
    """The top-level fields of one record's JSON that the schema does not know, as an object
    of their exact bytes (None when there are none)."""
    fields = _RAW_DICT.decode(record)
    parts = [msgspec.json.encode(k).decode() + ":" + bytes(v).decode()
             for k, v in fields.items() if k not in _KNOWN_FIELDS]
    return "{" + ",".join(parts) + "}" if parts else None


def _decode_records(data: bytes, records_file: bool) -> tuple[list, list[str | None] | None]:
    """Typed records of a Records file (or of a JSON array), and their unknown fields.

    Raises msgspec.DecodeError / UnicodeDecodeError for anything the careful path must read.
    The second list is None when no record has a field the schema does not know.
    """
    try:
        records = _FILE_RECORDS.decode(data).Records if records_file else _RECORD_LIST.decode(data)
        unknown = None
    except msgspec.ValidationError as exc:
        if "unknown field" not in str(exc):
            raise
        raws = _RAW_LIST.decode(_ENVELOPE.decode(data).Records) if records_file else _RAW_LIST.decode(data)
        records = _LOOSE_LIST.decode(b"[" + b",".join(raws) + b"]")
        unknown = [_unknown_text(r) for r in raws]
    _check_utf8(data)
    return records, unknown


@dataclass
class _Chunk:
    """What reading one file produced: record lines for the fast path, or a careful frame."""

    file: LogFile
    lines: bytes = b""  # records, one compact JSON object per line
    count: int = 0
    frame: pl.DataFrame | None = None  # stage-1 frame built by the careful path
    problems: list[Problem] = field(default_factory=list)
    records: list | None = None  # decoded records (fast path), turned into `stage1`
    data: bytes | None = None  # the decoded text, kept until the batch is parsed (fallback)
    stage1: pl.DataFrame | None = None  # the batch's records as text columns (see _add_stage1) ...
    stage1_offset: int = 0  # ... of which this file's are the ``count`` rows from here
    scanned: Any = None  # where the values lie in ``data`` (trailkit._scan), for the compiled path
    unknown: list[str | None] | None = None  # per record, top-level fields the schema lacks (msgspec path)
    blocks_ok: bool = False  # the scanner saw every _OBJECT_FIELDS value be an object, array or null


def _gunzip(raw: bytes, path: str, problems: list[Problem]) -> bytes | None:
    """Decompress; on a truncated or corrupt stream keep what decompressed and report it.

    libdeflate first: it checks the CRC of the member it reads but says nothing about bytes
    after it and may return nothing for a cut-off file, so its answer is used only when the
    gzip trailer's length (ISIZE, the last four bytes) matches. Anything else — several
    members, a cut, garbage — goes to python-isal, which reads every member and reports.
    """
    if _deflate is not None and len(raw) > 18:
        try:
            out = _deflate.gzip_decompress(raw)
        except Exception:  # noqa: BLE001 - DeflateError, or anything odd: use the careful reader
            out = None
        if out is not None and len(out) & 0xFFFFFFFF == int.from_bytes(raw[-4:], "little") and (out or len(raw) < 64):
            return out
    try:
        return _gzip.decompress(raw)
    except Exception as exc:  # noqa: BLE001 - isal and zlib raise different types
        d = zlib.decompressobj(wbits=31)
        try:
            part = d.decompress(raw)
        except zlib.error:
            part = b""
        problems.append(
            Problem(path, f"gzip data is truncated or corrupt ({exc}); "
                          f"{len(part)} bytes could be decompressed and complete records in them are kept. "
                          f"Re-download the file to get the rest.", action="kept")
        )
        return part if part else None


_NOT_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")


def _first_byte(data: bytes | bytearray) -> bytes:
    """The first byte that is not whitespace (``data.lstrip()[:1]`` without copying the file).

    libdeflate hands back a ``bytearray``, whose ``lstrip`` always copies: per file that was
    as slow as gunzipping it.

    >>> _first_byte(bytearray(b"  {}")), _first_byte(b"   ")
    (b'{', b'')
    """
    m = _NOT_SPACE.search(data)
    return bytes(data[m.start():m.start() + 1]) if m else b""


def _read_file(lf: LogFile, scanner: Future | None = None) -> _Chunk:
    chunk = _Chunk(lf)
    path = lf.path
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        chunk.problems.append(Problem(path, f"cannot read the file ({exc.strerror}). Check permissions."))
        return chunk
    if not raw.strip():
        chunk.problems.append(Problem(path, "the file is empty. Re-download it if it should hold events."))
        return chunk
    data: bytes | None = raw
    if raw[:2] == b"\x1f\x8b":
        data = _gunzip(raw, path, chunk.problems)
        if data is None:
            return chunk
        if chunk.problems:  # truncated or corrupt: keep the complete records decompressed
            return _careful(chunk, data)
    found = None
    module = scanner.result() if scanner is not None else None
    if module is not None and _first_byte(data) == b"{":
        found = module.scan(np.frombuffer(data, np.uint8), _SCAN_SPEC)
    if found is not None and found.error < 0:
        chunk.data, chunk.scanned, chunk.count = data, found, found.count
    else:
        _split_fast(chunk, data)
    if raw[:2] != b"\x1f\x8b" and path.lower().endswith(".gz"):
        failed = [p for p in chunk.problems if p.action == "skipped file"]
        if failed:
            chunk.problems = [Problem(path, f"not gzip data (first bytes {raw[:4]!r}) and not readable as "
                                            f"plain JSON either ({failed[0].reason}). Re-download it.")]
        else:
            chunk.problems.insert(0, Problem(
                path, f"named .gz but not gzip data (first bytes {raw[:4]!r}); read as plain JSON. "
                      f"Rename it to .json or re-download it.", action="kept"))
    return chunk


_RECORDS_HEAD = b'{"Records":['


def _split_fast(chunk: _Chunk, data: bytes) -> None:
    """Decode the records of ``data`` (any supported format) for the fast path.

    Delivered log files are decoded in one msgspec call into typed records whose nested blocks
    stay the exact bytes of the file. Other formats are first cut into one compact JSON line per
    record. Anything msgspec rejects (bad JSON, bad UTF-8, a field of an unexpected type) goes
    down the careful path, which keeps every good record and reports the rest.
    """
    path = chunk.file.path
    chunk.data = data
    if data.startswith(_RECORDS_HEAD):
        try:
            chunk.records, chunk.unknown = _decode_records(data, records_file=True)
        except (msgspec.DecodeError, UnicodeDecodeError):
            chunk.records = None
            _careful(chunk, data)
            return
        chunk.count = len(chunk.records)
        return
    head = _first_byte(data)
    try:
        if head == b"{":
            if b"\n" in data.strip():  # pretty-printed (or JSON lines): make it one line first
                try:
                    data = msgspec.json.format(data, indent=-1)
                except msgspec.DecodeError:
                    _jsonl(chunk, data)
                    _decode_lines(chunk)
                    return
            env = _ENVELOPE.decode(data)
            if env.Records is not None:
                recs = _RAW_LIST.decode(env.Records)
                chunk.lines, chunk.count = b"\n".join(recs), len(recs)
            elif env.Events is not None:
                events = _LOOKUP_LIST.decode(env.Events)
                texts = [e.CloudTrailEvent for e in events if e.CloudTrailEvent]
                if len(texts) != len(events):
                    chunk.problems.append(Problem(path, f"{len(events) - len(texts)} LookupEvents "
                                                        f"entries without CloudTrailEvent", field="CloudTrailEvent",
                                                  action="skipped record"))
                recs = [msgspec.json.format(t.encode(), indent=-1) for t in texts]
                chunk.lines, chunk.count = b"\n".join(recs), len(recs)
            elif env.detail is not None and env.detail_type is not None:
                chunk.lines, chunk.count = bytes(env.detail), 1
            elif env.eventTime is not None or env.eventName is not None or env.eventID is not None:
                chunk.lines, chunk.count = data.strip(), 1
            else:
                keys = list(json.loads(data))[:8] if data.strip() else []
                chunk.problems.append(Problem(
                    path, f"valid JSON but not CloudTrail: an object with keys {keys}, expected "
                          f'"Records", "Events" or event fields. Is this the right file?'))
        elif head == b"[":
            if b"\n" in data.strip():
                data = msgspec.json.format(data, indent=-1)
            recs = _RAW_LIST.decode(data)
            chunk.lines, chunk.count = b"\n".join(recs), len(recs)
        else:
            chunk.problems.append(Problem(
                path, f"not JSON (first bytes {data[:8]!r}). Expected a CloudTrail log file, "
                      f"JSON lines or LookupEvents output."))
    except (msgspec.DecodeError, UnicodeDecodeError):
        _careful(chunk, data)
        return
    _decode_lines(chunk)


def _check_utf8(data: bytes) -> None:
    """Raise UnicodeDecodeError unless ``data`` is UTF-8.

    msgspec checks the strings it decodes but copies ``Raw`` blocks as they are, so a bad byte
    inside ``requestParameters`` would reach polars. ``isascii`` answers the usual case
    without making a copy.
    """
    if not data.isascii():
        data.decode("utf-8")


def _decode_lines(chunk: _Chunk) -> None:
    """Decode record lines (one compact JSON object each) into typed records."""
    if chunk.frame is not None or not chunk.count:
        return
    array = b"[" + chunk.lines.replace(b"\n", b",") + b"]"
    try:
        chunk.records, chunk.unknown = _decode_records(array, records_file=False)
    except (msgspec.DecodeError, UnicodeDecodeError):
        chunk.lines, chunk.count, chunk.records = b"", 0, None
        _careful(chunk, array)
        return
    chunk.count = len(chunk.records)
    chunk.data = array


def _raw_text_column(raws: list) -> pa.Array:
    """Exact JSON text of some ``msgspec.Raw`` values as one Arrow string array.

    One C-level pass (``map``/``join``) into one buffer, no Python object per value; empty
    (absent) values and JSON ``null`` become null, found with numpy. The caller has checked
    that the bytes are UTF-8 (see _check_utf8).
    """
    n = len(raws)
    lens = np.fromiter(map(len, raws), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    data = b"".join(raws)
    valid = lens > 0
    fours = np.flatnonzero(lens == 4)
    if fours.size:
        buf = np.frombuffer(data, dtype=np.uint8)
        starts = offsets[fours]
        is_null = ((buf[starts] == ord("n")) & (buf[starts + 1] == ord("u"))
                   & (buf[starts + 2] == ord("l")) & (buf[starts + 3] == ord("l")))
        valid[fours[is_null]] = False
    return pa.Array.from_buffers(
        pa.large_string(), n,
        [pa.py_buffer(np.packbits(valid, bitorder="little")), pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=int(n - valid.sum()),
    )


#: below this much input (file bytes) the msgspec path wins when the scanner is numba's build,
#: which takes about 0.45 s to load; None: that rule, and no threshold for the C build (free to
#: load). Tests set 0 (always the scanner) or a huge number (always msgspec).
_SCAN_MIN_BYTES: int | None = None
_NUMBA_MIN_BYTES = 16 << 20
_SCAN_SPEC: Any = None
_scanner_module: Any = False  # not tried yet
#: the scanner's columns of _OBJECT_FIELDS, and the kinds of value that are not blocks (see _scan)
_SCAN_OBJECT_COLUMNS = [len(_STR_FIELDS) + _RAW_TEXT.index(f) for f in _OBJECT_FIELDS]
_SCALAR_KIND = np.zeros(256, np.bool_)
_SCALAR_KIND[[_scan.STRING, _scan.STRING_ESC, _scan.TRUE, _scan.FALSE, _scan.NUMBER]] = True


def _scanner(total_bytes: int) -> Future | None:
    """The compiled scanner (``trailkit._scan``) when it pays for itself, as a future.

    The C build loads at once. numba's takes about 0.45 s: it loads on a thread while the
    first files are read and gunzipped. The future's result is None when neither can load.
    """
    if os.environ.get("TRAILKIT_NO_SCANNER"):
        return None
    c_build = _scanner_module is not None and _scan.c_ready()
    threshold = _SCAN_MIN_BYTES if _SCAN_MIN_BYTES is not None else 0 if c_build else _NUMBA_MIN_BYTES
    if total_bytes < threshold:
        return None
    future: Future = Future()
    if _scanner_module is not False or c_build:
        future.set_result(_import_scanner())
        return future

    def load() -> None:
        try:
            future.set_result(_import_scanner())
        except BaseException as exc:  # noqa: BLE001 - handed to the reader threads
            future.set_exception(exc)

    threading.Thread(target=load, name="trailkit-scanner-import", daemon=True).start()
    return future


def _import_scanner() -> Any:
    global _scanner_module, _SCAN_SPEC
    if _scanner_module is False:
        try:
            spec = _scan.FieldSpec([*_STR_FIELDS, *_RAW_TEXT],
                                   [True] * len(_STR_FIELDS) + [False] * len(_RAW_TEXT), time="eventTime")
            _scan.warm()  # load the kernels now (numba: its machine code), not in the first read
        except Exception as exc:  # noqa: BLE001 - no C build and no numba here, or it cannot compile
            import warnings

            warnings.warn(f"trailkit's compiled scanner is unavailable ({type(exc).__name__}: {exc}); "
                          f"loading with the slower msgspec path. Reinstall trailkit with a C compiler "
                          f"at hand (or numba installed) to get it back.",
                          RuntimeWarning, stacklevel=2)
            _scanner_module = None
        else:
            _SCAN_SPEC = spec
            _scanner_module = _scan
    return _scanner_module


def _scanned_frame(chunks: list[_Chunk]) -> pl.DataFrame:
    """Files read by the compiled scanner → one stage-1 frame (same columns as _stage1_frame)."""
    arrays = _scan.build_columns([c.data for c in chunks], [c.scanned for c in chunks], _SCAN_SPEC)
    frame = pl.from_arrow(pa.table(dict(zip([*_SCAN_SPEC.names, "_time_us"], arrays, strict=True))))
    if not any(c.scanned.unknown.any() for c in chunks):  # the usual case: no new fields
        return frame.with_columns(pl.lit(None, pl.String).alias("_unknown"))  # type: ignore[union-attr]
    return frame.with_columns(pl.Series("_unknown", _unknown_fields(chunks), dtype=pl.String))  # type: ignore[union-attr]


def _unknown_fields(chunks: list[_Chunk]) -> list[str | None]:
    """Top-level fields the schema does not know, per record, as a JSON object (else None).

    The scanner flags the records that have any (new fields are rare: AWS adds one now and
    then); only those are decoded here, keeping each value's exact bytes.
    """
    out: list[str | None] = []
    for c in chunks:
        found = c.scanned
        flagged = np.flatnonzero(found.unknown)
        if not flagged.size:
            out.extend([None] * found.count)
            continue
        values: list[str | None] = [None] * found.count
        for r in flagged:
            start, end = found.bounds[r]
            values[r] = _unknown_text(c.data[start:end])
        out.extend(values)
    return out


def _stage1_frame(records: list) -> pl.DataFrame:
    """Decoded records → the stage-1 frame (CloudTrail field names, every column text).

    Each column is one ``map(attrgetter(...))`` over the records: text fields become a polars
    String column directly, raw fields an Arrow buffer of their exact bytes.
    """
    text = pl.DataFrame({n: list(map(attrgetter(n), records)) for n in _STR_FIELDS},
                        schema={n: pl.String for n in _STR_FIELDS})
    raw = pl.from_arrow(pa.table({n: _raw_text_column(list(map(attrgetter(n), records)))
                                  for n in _RAW_TEXT}))
    return pl.concat([text, raw], how="horizontal")  # type: ignore[list-item]


def _add_stage1(chunks: list[_Chunk]) -> list[_Chunk]:
    """Build the stage-1 frame of a whole batch at once, and give each file its slice."""
    fast = [c for c in chunks if c.frame is None and c.count and c.records is not None]
    scanned = [c for c in chunks if c.frame is None and c.count and c.scanned is not None]
    decoded = None
    if fast:  # the compiled scanner also parses eventTime: do the same here
        decoded = _stage1_frame([r for c in fast for r in c.records])  # type: ignore[union-attr]
        unknown = [u for c in fast for u in (c.unknown or [None] * c.count)]
        decoded = decoded.with_columns(parse_utc(pl.col("eventTime"), full=False).alias("_time_us"),
                                       pl.Series("_unknown", unknown, dtype=pl.String))
    if scanned:  # did the scanner see a scalar where a block belongs? (one look per batch)
        kinds = np.concatenate([c.scanned.kinds for c in scanned])[:, _SCAN_OBJECT_COLUMNS]
        blocks_ok = not _SCALAR_KIND[kinds].any()
        for c in scanned:
            c.blocks_ok = blocks_ok
    for group, frame in ((fast, decoded), (scanned, _scanned_frame(scanned) if scanned else None)):
        offset = 0
        for c in group:
            c.stage1, c.stage1_offset = frame, offset  # sliced only if need be (see _fast_batch)
            c.records = c.scanned = None
            offset += c.count
    return chunks


def _read_batch(files: list[LogFile], scanner: Future | None = None) -> list[_Chunk]:
    """Read and decode every file of a batch (runs in a reader thread)."""
    return _add_stage1([_read_file(f, scanner) for f in files])


def _jsonl(chunk: _Chunk, data: bytes) -> None:
    lines = [ln for ln in data.splitlines() if ln.strip()]
    if lines and all(ln.lstrip()[:1] == b"{" for ln in lines[:3]):
        chunk.lines, chunk.count = b"\n".join(lines), len(lines)
    else:
        _careful(chunk, data)


# --------------------------------------------------------------------------------------------
# the careful path: one record at a time, keeping every good one


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _clean_identity(ui: Any) -> str | None:
    """userIdentity with every leaf the struct reads forced to text, for json_decode."""
    def fix(obj: Any, dtype: pl.DataType) -> Any:
        if isinstance(dtype, pl.Struct):
            if not isinstance(obj, dict):
                return None
            return {f.name: fix(obj.get(f.name), f.dtype) for f in dtype.fields}
        return _text(obj)

    return json.dumps(fix(ui, USER_IDENTITY_DTYPE)) if isinstance(ui, dict) else None


def _salvage(text: str) -> tuple[list[Any], str | None]:
    """Complete JSON values in a possibly cut-off document: Records array, JSON array or lines."""
    dec = json.JSONDecoder()
    try:
        whole = json.loads(text)
    except ValueError as exc:
        err = str(exc)
    else:
        if isinstance(whole, dict):
            if isinstance(whole.get("Records"), list):
                return whole["Records"], None
            if isinstance(whole.get("Events"), list):
                out = []
                for e in whole["Events"]:
                    try:
                        out.append(json.loads(e.get("CloudTrailEvent")))
                    except (TypeError, ValueError, AttributeError):
                        out.append(e)
                return out, None
            if isinstance(whole.get("detail"), dict) and "detail-type" in whole:
                return [whole["detail"]], None
            return [whole], None
        if isinstance(whole, list):
            return whole, None
        return [whole], None
    # not one document: a cut-off Records array, JSON lines, or garbage
    m = re.match(r'\s*\{\s*"Records"\s*:\s*\[', text) or re.match(r"\s*\[", text)
    pos = m.end() if m else 0
    values: list[Any] = []
    n = len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n or text[pos] in "]}":
            break
        try:
            value, pos = dec.raw_decode(text, pos)
        except ValueError as exc:
            return values, f"{exc}; {len(values)} complete records before it were kept"
        values.append(value)
    return values, (err if not values else None)


def _careful(chunk: _Chunk, data: bytes) -> _Chunk:
    path = chunk.file.path
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        chunk.problems.append(Problem(
            path, f"bytes that are not UTF-8 at offset {exc.start}; they were replaced by U+FFFD "
                  f"in the records that hold them", action="kept"))
    values, err = _salvage(text)
    if err and not values:
        chunk.problems.append(Problem(path, f"invalid JSON ({err}). Re-download the file or check "
                                            f"that it is CloudTrail output."))
        return chunk
    if err:
        chunk.problems.append(Problem(path, f"invalid JSON part-way through: {err}", action="kept"))
    cols: dict[str, list[Any]] = {name: [] for name in _ALL_FIELDS}
    cols["_record"] = []
    known = set(_ALL_FIELDS)
    extras: list[str | None] = []
    for i, rec in enumerate(values):
        if not isinstance(rec, dict):
            chunk.problems.append(Problem(path, f"a record is not a JSON object but {type(rec).__name__}",
                                          record=i, action="skipped record"))
            continue
        if not ({"eventTime", "eventName", "eventID", "eventSource"} & rec.keys()):
            chunk.problems.append(Problem(path, f"not a CloudTrail record (keys {sorted(rec)[:6]})",
                                          record=i, action="skipped record"))
            continue
        for name in _ALL_FIELDS:
            v = rec.get(name)
            if name in _TEXT_FIELDS or name in ("eventTime", "errorCode", "errorMessage"):
                if v is not None and not isinstance(v, str):
                    chunk.problems.append(Problem(
                        path, f"expected text, got {type(v).__name__}; kept as JSON text",
                        record=i, field=name, action="kept"))
            cols[name].append(_text(v))
        ui = rec.get("userIdentity")
        if ui is not None and not isinstance(ui, dict):
            chunk.problems.append(Problem(path, f"userIdentity is {type(ui).__name__}, not an object; "
                                                f"identity columns are null", record=i,
                                          field="userIdentity", action="kept"))
        cols["_record"].append(i)
        unknown = {k: v for k, v in rec.items() if k not in known}
        extras.append(json.dumps(unknown, ensure_ascii=False) if unknown else None)
    frame = pl.DataFrame(cols, schema={**_STAGE1_SCHEMA, "_record": pl.Int64})
    chunk.frame = frame.with_columns(pl.Series("_unknown", extras, dtype=pl.String))
    chunk.count = frame.height
    return chunk


# --------------------------------------------------------------------------------------------
# stage 2: text columns -> the normalised schema (vectorised)


def _json_bool(name: str) -> pl.Expr:
    """A raw JSON value (``true``, ``"true"``, ``"True"`` ...) → Boolean, else null.

    The usual spellings are compared as they are; only the others (mostly null here) are
    stripped and lower-cased, so the column is not copied twice per batch.
    """
    col = pl.col(name)
    quick = pl.when(col == "true").then(True).when(col == "false").then(False)
    rest = pl.when(quick.is_null()).then(col).str.strip_chars('"')
    return pl.coalesce(quick, parse_bool(rest))


def _normalise(stage1: pl.DataFrame, full_times: bool = False, blocks_checked: bool = False) -> pl.DataFrame:
    """Stage-1 frame (CloudTrail field names, all text) → normalised schema + ``_problem``.

    Staged ``with_columns`` on a lazy frame so every parse runs once, and polars runs the
    expressions of each stage in parallel. The identity columns are not added here but once
    per load (see _dedup_sort_identify).
    """
    # the identity columns are added once for the whole load (see _dedup_sort_identify); here only
    # what ConsoleLogin says about MFA, which lives in additionalEventData, not in the session
    console = pl.col("eventName") == "ConsoleLogin"
    mfa_used = pl.when(console).then(pl.col("additionalEventData")).str.extract(r'"MFAUsed"\s*:\s*"([^"]*)"', 1)
    lf = stage1.lazy().with_columns(
        pl.when(console).then(parse_bool(mfa_used, "yes", "no")).alias("_console_mfa"),
        (pl.col("_time_us") if "_time_us" in stage1.columns and not full_times
         else parse_utc(pl.col("eventTime"), full=full_times)).alias("event_time"),
        _json_bool("readOnly").alias("read_only"),
        _json_bool("managementEvent").alias("management_event"),
        nonempty(pl.col("errorCode")).alias("error_code"),
        nonempty(pl.col("errorMessage")).alias("error_message"),
        _json_bool("sessionCredentialFromConsole").alias("session_credential_from_console"),
    )
    lf = lf.with_columns(
        (pl.col("error_code").is_null() & pl.col("error_message").is_null()).alias("success")
    )
    extra = pl.when(pl.any_horizontal(pl.col(c).is_not_null() for c in _EXTRA_FIELDS)).then(
        pl.concat_str(
            pl.lit("{"),
            pl.concat_str(
                [pl.when(pl.col(c).is_not_null()).then(pl.format('"{}":{}', pl.lit(c), pl.col(c)))
                 for c in _EXTRA_FIELDS],
                separator=",", ignore_nulls=True,
            ),
            pl.lit("}"),
        )
    )
    if "_unknown" in stage1.columns:  # unknown top-level fields: merged into the same object
        unknown = pl.col("_unknown")
        extra = (pl.when(extra.is_null()).then(unknown).when(unknown.is_null()).then(extra)
                 .otherwise(pl.concat_str(extra.str.head(-1), pl.lit(","), unknown.str.tail(-1))))
    # problems that keep (or skip) the record, found vectorised; only flagged rows reach Python
    not_ct = pl.all_horizontal(pl.col(c).is_null() for c in ("eventTime", "eventName", "eventID", "eventSource"))
    problem = (
        pl.when(not_ct).then(pl.lit("|skip|not a CloudTrail record: no eventTime, eventName, eventID or eventSource"))
        .when(pl.col("eventTime").is_null()).then(pl.lit("eventTime|missing eventTime; event_time is null"))
        .when(pl.col("event_time").is_null())
        .then(pl.format("eventTime|eventTime {} is not ISO-8601 UTC; event_time is null",
                        pl.col("eventTime").str.slice(0, 40)))
        .when(pl.col("userIdentity").is_null() & (pl.col("eventType") != "AwsCloudTrailInsight").fill_null(True))
        .then(pl.lit("userIdentity|missing userIdentity; identity columns are null"))
        .when(pl.lit(False) if blocks_checked else  # the scanner saw only blocks there
              pl.any_horizontal(~pl.col(c).str.starts_with("{") & ~pl.col(c).str.starts_with("[")
                                for c in _OBJECT_FIELDS))
        .then(pl.coalesce([pl.when(~pl.col(c).str.starts_with("{") & ~pl.col(c).str.starts_with("[")).then(
            pl.lit(f"{c}|expected a JSON object, got a scalar; kept as text")) for c in _OBJECT_FIELDS]))
        .when(pl.col("readOnly").is_not_null() & pl.col("read_only").is_null())
        .then(pl.format("readOnly|readOnly {} is not a boolean; read_only is null", pl.col("readOnly").str.slice(0, 20)))
        .when(pl.col("managementEvent").is_not_null() & pl.col("management_event").is_null())
        .then(pl.format("managementEvent|managementEvent {} is not a boolean; management_event is null",
                        pl.col("managementEvent").str.slice(0, 20)))
        .otherwise(None)
        .alias("_problem")
    )
    renames = [pl.col(src).alias(dst) for src, dst in {**_TEXT_FIELDS, **_RAW_FIELDS}.items()]
    keep = [c for c in ("_record", "_row") if c in stage1.columns]
    derived = [c for c in _BATCH_SCHEMA if c not in set(_TEXT_FIELDS.values()) | set(_RAW_FIELDS.values())
               | {"extra_fields"}]
    out = lf.select(*renames, *(pl.col(c) for c in derived), extra.alias("extra_fields"),
                    problem, *keep).collect()
    if not full_times:
        # the fast time parse takes only the trail form; re-parse if anything else is there
        odd = out.select((pl.col("event_time").is_null() & pl.col("_problem").is_not_null()).any()).item()
        if odd:
            return _normalise(stage1, full_times=True, blocks_checked=blocks_checked)
    return out


def _identity_names() -> list[str]:
    probe = pl.LazyFrame({"_ui": [None], "e": [None]}, schema={"_ui": USER_IDENTITY_DTYPE, "e": pl.String})
    return [c for c in identity_columns(probe, "_ui", "e", "e").collect_schema() if c not in ("_ui", "e")]


#: columns derived from userIdentity, added once per load after the batches are joined
_IDENTITY_COLUMNS = _identity_names()
#: what each batch (and each per-batch cache file) holds: the schema without the identity
#: columns, plus what ConsoleLogin said about MFA
_BATCH_SCHEMA = {**{c: t for c, t in SCHEMA.items() if c not in _IDENTITY_COLUMNS}, "_console_mfa": pl.Boolean}


def _identity_table(texts: pl.Series, full_times: bool = False) -> pl.DataFrame:
    """Identity columns for each distinct ``userIdentity`` text (``_ui_key``).

    A text whose leaves have unexpected types (a number where the schema says text) cannot
    be decoded as a whole; then every text is decoded on its own with such leaves turned into
    text first, which is slow but keeps the record's identity.
    """
    frame = pl.DataFrame({"_ui_key": texts}).with_columns(pl.lit(None, pl.String).alias("_no_event"))
    try:
        decoded = frame.with_columns(pl.col("_ui_key").str.json_decode(USER_IDENTITY_DTYPE).alias("_ui"))
    except Exception:  # noqa: BLE001 - polars raises ComputeError or SchemaError here
        cleaned = [_clean_identity(_json_or_none(t)) for t in texts.to_list()]
        decoded = frame.with_columns(pl.Series("_c", cleaned, dtype=pl.String).str.json_decode(
            USER_IDENTITY_DTYPE).alias("_ui"))
    table = identity_columns(decoded.lazy(), "_ui", "_no_event", "_no_event",
                             full_times=full_times).drop("_ui", "_no_event").collect()
    if not full_times and table.select((pl.col("session_created").is_null() & pl.col("_ui_key").str.contains(
            '"creationDate"', literal=True)).any()).item():
        return _identity_table(texts, full_times=True)  # a creationDate not in the usual form
    return table


def _json_or_none(text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except ValueError:  # the careful path keeps a non-JSON userIdentity as plain text
        return None


class _Identities:
    """The identity table of a load, built batch by batch as the batches arrive.

    The loader's main thread waits while reader threads parse; deriving the identity columns
    of each batch's new ``userIdentity`` values there takes that work off the end of the
    load, where it used to run beside the sort. Values are told apart by their category code.
    """

    def __init__(self) -> None:
        self.seen = np.zeros(0, np.bool_)
        self.tables: list[pl.DataFrame] = []

    def new_values(self, frame: pl.DataFrame) -> pl.Series:
        """The ``userIdentity`` texts in ``frame`` not seen before (now marked as seen)."""
        values = frame.get_column("user_identity").unique().drop_nulls()
        if values.is_empty():
            return pl.Series([], dtype=pl.String)
        codes = values.to_physical().to_numpy()
        if codes.max() >= self.seen.size:
            self.seen = np.concatenate([self.seen, np.zeros(int(codes.max()) + 1 - self.seen.size, np.bool_)])
        new = ~self.seen[codes]
        self.seen[codes[new]] = True
        return values.filter(pl.Series(new)).cast(pl.String)

    def add(self, frame: pl.DataFrame) -> None:
        """Derive the identity columns of the values in ``frame`` not seen before."""
        texts = self.new_values(frame)
        if len(texts):
            self.tables.append(_identity_table(texts))

    def table(self, more: pl.DataFrame | None = None) -> pl.DataFrame:
        """The whole table (with ``more``: an identity table of the values no batch showed)."""
        tables = [*self.tables, *([more] if more is not None and more.height else [])]
        if not tables:
            return _identity_table(pl.Series([], dtype=pl.String))
        return pl.concat(tables, how="vertical") if len(tables) > 1 else tables[0]


_malloc_trim: Any = None  # glibc's malloc_trim, False where there is none (not yet looked up)


def _trim() -> None:
    """Give the memory that glibc's malloc keeps after frees back to the system.

    Reader threads free their per-batch scratch (decompressed files, offsets, masks) into
    malloc's arenas, which keep it: at 200k events that is about 0.12 GB of the peak, held
    while the final sort allocates its own. A few milliseconds; a no-op off glibc (macOS,
    musl) and where the call is missing.

    >>> _trim()
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL(None).malloc_trim
            _malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError, TypeError):  # not glibc; Windows has no CDLL(None)
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


def _dedup_sort_identify(owned: list[pl.DataFrame],
                         identities: _Identities | None = None) -> tuple[pl.DataFrame, int]:
    """The end of every load: drop duplicates, sort by time, add the identity columns.

    The identity columns are derived once per distinct ``userIdentity`` (a log holds few:
    one per principal and session) — mostly while the batches arrived (``identities``), the
    rest on a second thread while the sort runs — and joined after it, so they are made once
    and never sorted.
    """
    _trim()  # the batches' scratch memory, before the sort allocates
    identities = identities if identities is not None else _Identities()
    df = owned[0]
    ui_dtype = df.schema["user_identity"]
    left = identities.new_values(df)  # none unless batches came from the cache or a 2nd process
    del df
    with ThreadPoolExecutor(max_workers=2) as pool:
        more = pool.submit(_identity_table, left) if len(left) else None
        df, dropped = _dedup_sort(owned, pool)
        table = identities.table(more.result() if more is not None else None)
        return _add_identities(df, table.with_columns(pl.col("_ui_key").cast(ui_dtype))), dropped


def _add_identities(df: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """Join the identity columns (``table`` from _identity_table) onto a batch-schema frame."""
    out = df.join(table, left_on="user_identity", right_on="_ui_key", how="left", maintain_order="left")
    return out.with_columns(
        pl.coalesce(pl.col("_console_mfa"), pl.col("mfa_authenticated")).alias("mfa_authenticated")
    ).select([pl.col(c).cast(t) for c, t in SCHEMA.items()])


def _problems_from(df: pl.DataFrame, offsets: dict[str, int]) -> list[Problem]:
    if df.get_column("_problem").null_count() == df.height:  # the usual case: no filter over every column
        return []
    flagged = df.filter(pl.col("_problem").is_not_null())
    out = []
    rec_col = "_record" if "_record" in flagged.columns else "_row"
    for src, rec, text in flagged.select("source_file", rec_col, "_problem").iter_rows():
        fld, reason = text.split("|", 1)
        action = "kept"
        if reason.startswith("skip|"):
            action, reason = "skipped record", reason[5:]
        rec = rec - offsets.get(src, 0) if rec_col == "_row" else rec
        out.append(Problem(src, reason, record=rec, field=fld or None, action=action))
    return out


def _finish(df: pl.DataFrame) -> pl.DataFrame:
    if "_problem" in df.columns and df["_problem"].null_count() < df.height:
        skip = df["_problem"].str.starts_with("|skip|").fill_null(False)
        if skip.any():
            df = df.filter(~skip)
    return df.drop([c for c in ("_problem", "_record", "_row") if c in df.columns]).select(
        [pl.col(c).cast(t) for c, t in _BATCH_SCHEMA.items()]
    )


def _fast_batch(chunks: list[_Chunk]) -> tuple[pl.DataFrame | None, list[Problem]]:
    """Normalise the decoded records of several files in one go; None when it fails."""
    chunks = [c for c in chunks if c.count]
    if not chunks:
        return pl.DataFrame(schema=_BATCH_SCHEMA), []
    if any(c.stage1 is None or c.stage1.height < c.stage1_offset + c.count for c in chunks):
        return None, []
    # runs of files that lie next to each other in one stage-1 frame are taken whole: a column
    # cut into one piece per file makes every later polars operation several times slower
    runs: list[list] = []
    for c in chunks:
        if runs and runs[-1][0] is c.stage1 and runs[-1][2] == c.stage1_offset:
            runs[-1][2] += c.count
        else:
            runs.append([c.stage1, c.stage1_offset, c.stage1_offset + c.count])
    stage1 = pl.concat([f if a == 0 and b == f.height else f.slice(a, b - a) for f, a, b in runs],
                       rechunk=False)
    counts = [c.count for c in chunks]
    # each path once, as a category, repeated by code (no per-row copy of the text)
    source_col = pl.Series("source_file", [c.file.path for c in chunks], dtype=pl.Categorical).gather(
        np.repeat(np.arange(len(chunks), dtype=np.uint32), counts))
    offsets: dict[str, int] = {}
    total = 0
    for c in chunks:
        offsets[c.file.path] = total
        total += c.count
    stage1 = stage1.with_columns(
        source_col.alias("source_file"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
    )
    blocks_checked = all(c.blocks_ok for c in chunks)
    try:
        df = _normalise(stage1, blocks_checked=blocks_checked)
    except Exception:  # noqa: BLE001 - anything unexpected: retry file by file
        return None, []
    return df, _problems_from(df, offsets)


def _careful_frame(chunk: _Chunk) -> tuple[pl.DataFrame, list[Problem]]:
    frame = chunk.frame
    if frame is None:
        return pl.DataFrame(schema=_BATCH_SCHEMA), []
    frame = frame.with_columns(pl.lit(chunk.file.path, pl.String).alias("source_file"))
    df = _normalise(frame)
    return df, _problems_from(df, {})


def _parse_chunks(chunks: list[_Chunk]) -> tuple[pl.DataFrame, list[Problem]]:
    """Chunks of one batch → normalised frame and problems, falling back file by file."""
    problems = [p for c in chunks for p in c.problems]
    fast = [c for c in chunks if c.frame is None and c.count]
    careful = [c for c in chunks if c.frame is not None]
    frames: list[pl.DataFrame] = []
    df, probs = _fast_batch(fast)
    if df is None:
        for c in fast:
            one, probs1 = _fast_batch([c])
            if one is None and c.frame is None:
                _careful(c, c.data or b"")
            if one is None:
                one, probs1 = _careful_frame(c)
                problems.extend(p for p in c.problems if p not in problems)
            frames.append(one)
            problems.extend(probs1)
    else:
        frames.append(df)
        problems.extend(probs)
    for c in careful:
        one, probs1 = _careful_frame(c)
        frames.append(one)
        problems.extend(probs1)
    for c in chunks:  # the text was kept only for a fallback
        c.data = c.lines = None  # type: ignore[assignment]
    frames = [_finish(f) for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=_BATCH_SCHEMA), problems
    return pl.concat(frames, how="vertical"), problems


# --------------------------------------------------------------------------------------------
# batches, threads, cache


_BATCH_BYTES = 32 << 20  # decompressed JSON per polars call


def _prefetch(batches: list[list[LogFile]], workers: int, task: Callable[[list[LogFile]], Any]) -> Iterator[Any]:
    """``task(batch)`` for each batch on a thread pool, ``workers`` batches at a time, in order.

    Gunzip, the compiled scanner and polars all release the GIL, so the threads use every
    core; each thread takes a batch from its files to its normalised frame.
    """
    if workers <= 1 or len(batches) <= 1:
        for b in batches:
            yield task(b)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        ahead: list[Future[Any]] = []
        it = iter(batches)
        for b in it:
            ahead.append(pool.submit(task, b))
            if len(ahead) >= workers:
                break
        while ahead:
            fut = ahead.pop(0)
            nxt = next(it, None)
            if nxt is not None:
                ahead.append(pool.submit(task, nxt))
            yield fut.result()


def _parse_batch(files: list[LogFile], scanner: Future | None, cache_dir: Path | None):
    """One batch from its files to its normalised frame (or cache file) and problems."""
    df, problems = _parse_chunks(_read_batch(files, scanner))
    return _store_batch(df, problems, files, cache_dir), problems


def _batches(files: list[LogFile]) -> list[list[LogFile]]:
    """Group files into batches: by folder, cut at about ``_BATCH_BYTES`` of JSON.

    Stable for a given set of files, so cache entries survive files added in other folders.
    """
    out: list[list[LogFile]] = []
    cur: list[LogFile] = []
    size = 0
    folder = None
    for f in files:  # already sorted by path
        d = os.path.dirname(f.path)
        est = max(f.size, 0) * (10 if f.path.endswith(".gz") else 1)
        if cur and (size + est > _BATCH_BYTES or (d != folder and size > _BATCH_BYTES // 4)):
            out.append(cur)
            cur, size = [], 0
        cur.append(f)
        size += est
        folder = d
    if cur:
        out.append(cur)
    return out


def default_cache_dir() -> Path:
    """Where the Parquet cache lives: ``$TRAILKIT_CACHE_DIR``, else ``~/.cache/trailkit``.

    >>> default_cache_dir().name in ("trailkit",) or True
    True
    """
    env = os.environ.get("TRAILKIT_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "trailkit"


def _batch_key(batch: list[LogFile]) -> str:
    h = hashlib.sha256(f"trailkit-cache-{CACHE_VERSION}-{pl.__version__}".encode())
    for f in batch:
        h.update(f"{_absolute(f.path)}\0{f.size}\0{f.mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def _progress(total_bytes: int, progress: bool | None, desc: str):
    if progress is None:
        progress = total_bytes > (48 << 20)
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total_bytes, unit="B", unit_scale=True, desc=desc, leave=False)


_last_report = LoadReport()


def last_report() -> LoadReport:
    """The report of the most recent load in this process.

    >>> isinstance(last_report(), LoadReport)
    True
    """
    return _last_report


def _store_batch(df: pl.DataFrame, problems: list[Problem], batch: list[LogFile], cache_dir: Path | None):
    """Write one parsed batch to the Parquet cache (and return its path), or return the frame."""
    if cache_dir is None:
        return df
    pq = cache_dir / f"{_batch_key(batch)}.parquet"
    _write_parquet(df, pq, problems)
    return pq


def _worker_batches(batches: list[list[LogFile]], out_dir: str, cache_dir: str | None,
                    threads: int) -> list[tuple[str, list[Problem]]]:
    """Run in a second process: parse ``batches`` and hand each back as a file.

    With a cache the file is the batch's Parquet cache entry; without, an uncompressed Arrow
    IPC file in ``out_dir`` (a RAM disk where there is one) that the parent memory-maps —
    handing frames back by pickle would cost as much as parsing them.
    """
    out: list[tuple[str, list[Problem]]] = []
    cdir = Path(cache_dir) if cache_dir else None
    task = functools.partial(_parse_batch, scanner=None, cache_dir=cdir)
    for i, (stored, problems) in enumerate(_prefetch(batches, threads, task)):
        if isinstance(stored, pl.DataFrame):
            path = os.path.join(out_dir, f"batch-{i:05d}.arrow")
            stored.write_ipc(path, compression="uncompressed")
            stored = path
        out.append((str(stored), problems))
    return out


#: below this much gzip input a second process costs more than it saves (start-up ≈ 0.3 s)
_PROCESS_MIN_BYTES = 24 << 20
#: share of the batches this process keeps: it starts at once and has two reader threads, the
#: worker starts ~0.3 s later; measured on 2M events, both then finish at about the same time
_MAIN_SHARE = 0.62


def _load_batches(
    files: list[LogFile],
    report: LoadReport,
    *,
    cache: bool,
    cache_dir: Path,
    progress: bool | None,
    workers: int,
    identities: _Identities | None = None,
) -> list[pl.DataFrame] | list[Path]:
    """Read every batch; with ``cache`` write each to Parquet and return the paths.

    ``identities`` gets each batch parsed in this process, as it arrives.

    With two or more workers and enough input, the later part of the batches is parsed in a
    second (spawned) process while this one parses the first part; reading happens on
    threads in both.
    """
    batches = _batches(files)
    total = sum(max(f.size, 0) for f in files)
    bar = _progress(total, progress, "reading CloudTrail logs")
    results: list[Any] = []
    todo: list[list[LogFile]] = []
    for b in batches:
        if cache:
            problems = _read_problems(cache_dir / f"{_batch_key(b)}.parquet")
            if problems is not None:
                report.extend(problems)
                report.from_cache += len(b)
                report.files_read += len(b)
                results.append(cache_dir / f"{_batch_key(b)}.parquet")
                if bar:
                    bar.update(sum(max(f.size, 0) for f in b))
                continue
        todo.append(b)
        results.append(None)
    todo_bytes = sum(max(f.size, 0) for b in todo for f in b)
    # the compiled scanner releases the GIL, so reader threads in this process use every core;
    # without it, a worker process takes the later part of the batches
    scanner = _scanner(todo_bytes)
    mine, theirs = todo, []
    if scanner is None and workers >= 2 and len(todo) >= 2 and todo_bytes >= _PROCESS_MIN_BYTES:
        acc, cut = 0, len(todo)
        for i, b in enumerate(todo):
            acc += sum(max(f.size, 0) for f in b)
            if acc >= todo_bytes * _MAIN_SHARE:
                cut = i + 1
                break
        mine, theirs = todo[:cut], todo[cut:]
    parsed: list[Any] = []
    with contextlib.ExitStack() as stack:
        worker = None
        if theirs:
            import pickle  # noqa: S403 - to our own child process only
            import subprocess
            import sys
            import tempfile

            ram = "/dev/shm"  # noqa: S108 - a private TemporaryDirectory inside the RAM disk
            out_dir = stack.enter_context(tempfile.TemporaryDirectory(
                prefix="trailkit-", dir=ram if os.path.isdir(ram) else None))
            worker = subprocess.Popen([sys.executable, "-m", "trailkit._worker"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            stack.callback(worker.kill)
            assert worker.stdin is not None
            worker.stdin.write(pickle.dumps((theirs, out_dir, str(cache_dir) if cache else None,
                                             max(1, workers - 1))))
            worker.stdin.close()
        task = functools.partial(_parse_batch, scanner=scanner, cache_dir=cache_dir if cache else None)
        for b, (stored, problems) in zip(mine, _prefetch(mine, workers, task), strict=True):
            report.extend(problems)
            report.files_read += len(b)
            if bar:
                bar.update(sum(max(f.size, 0) for f in b))
            if identities is not None and isinstance(stored, pl.DataFrame):
                identities.add(stored)
            parsed.append(stored)
        if worker is not None:
            assert worker.stdout is not None
            answer = worker.stdout.read()
            if worker.wait() != 0 or not answer:
                raise LoadError(f"the second loader process failed (exit {worker.returncode}); "
                                f"pass workers=1 to load in one process and see the error.")
            for b, (path, problems) in zip(theirs, pickle.loads(answer), strict=True):  # noqa: S301
                report.extend(problems)
                report.files_read += len(b)
                if bar:
                    bar.update(sum(max(f.size, 0) for f in b))
                parsed.append(Path(path) if cache else pl.read_ipc(path))
    it = iter(parsed)
    results = [r if r is not None else next(it) for r in results]
    if bar:
        bar.close()
    return results


def _row_filter(start: datetime | None, end: datetime | None, regions, accounts) -> pl.Expr | None:
    conds = []
    if start is not None:
        conds.append(pl.col("event_time") >= start)
    if end is not None:
        conds.append(pl.col("event_time") < end)
    if regions:
        conds.append(pl.col("aws_region").is_in(list(regions)))
    if accounts:
        conds.append(pl.col("recipient_account_id").is_in([str(a) for a in accounts]))
    if not conds:
        return None
    return pl.all_horizontal(conds)


def _dedup_sort(owned: list[pl.DataFrame], pool: ThreadPoolExecutor | None = None) -> tuple[pl.DataFrame, int]:
    """Drop duplicate events and sort by time, one column at a time to keep memory low.

    ``owned`` is a one-item list the caller gives up: holding the frame in a local variable
    would keep every old column alive while its sorted copy is made.

    Duplicates are looked for by hash first (equal keys hash equal, so no repeated hash means
    no duplicate); only when a hash repeats are the keys compared. A plain
    ``df.filter(...).sort(...)`` holds two copies of every column at its peak; here the row
    order is computed once and each column is rechunked (cheap for polars' string views, and it
    makes the gather ten times faster), gathered and released in turn, on ``pool``'s threads
    when given (polars releases the GIL).
    Returns the frame and the number of duplicates dropped.
    """
    df = owned.pop()
    if df.is_empty():
        return df, 0
    keep = None
    if df.select(pl.struct(DEDUP_KEY).hash().is_duplicated().any()).item():
        keep = df.select(pl.struct(DEDUP_KEY).is_first_distinct() | pl.col("event_id").is_null())
        keep = keep.to_series()
        if keep.all():
            keep = None
    dropped = 0 if keep is None else int(df.height - keep.sum())
    times = df.get_column("event_time")
    if keep is None and times.is_sorted(nulls_last=True):
        return df, 0
    order = pl.DataFrame({"i": pl.int_range(df.height, dtype=pl.UInt32, eager=True), "t": times})
    if keep is not None:
        order = order.filter(keep)
    if not order["t"].is_sorted(nulls_last=True):
        order = order.sort("t", maintain_order=True, nulls_last=True)
    idx = order["i"]
    del order, keep, times
    names = df.columns
    columns = {name: df.get_column(name) for name in names}
    del df  # from here on each old column lives only in `columns` until it is gathered

    def gather(name: str) -> pl.Series:
        return columns.pop(name).rechunk().gather(idx)

    gathered = list(pool.map(gather, names)) if pool is not None else [gather(n) for n in names]
    return pl.DataFrame(gathered), dropped


def _write_parquet(df: pl.DataFrame, path: Path, problems: list[Problem]) -> None:
    """Write a cache entry atomically: the events and, beside them, the problems found."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    df.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
    os.replace(tmp, path)
    path.with_suffix(".problems").write_text(json.dumps([p.__dict__ for p in problems]))


def _read_problems(path: Path) -> list[Problem] | None:
    meta = path.with_suffix(".problems")
    if not (path.exists() and meta.exists()):
        return None
    return [Problem(**p) for p in json.loads(meta.read_text())]


#: keep the cache directory under this many bytes: ``$TRAILKIT_CACHE_MAX_GB`` (default 10)
_CACHE_MAX_GB_DEFAULT = 10.0


_cache_writers: dict[Path, threading.Thread] = {}  # answers being written, by path


def _write_result_later(df: pl.DataFrame, path: Path, problems: list[Problem]) -> None:
    """Write a load's answer on a thread, so the caller has its frame at once.

    Writing 2M events takes seconds (the file is uncompressed); the frame is immutable, so
    the caller can work with it meanwhile. The thread is not a daemon: a script that ends
    right after loading waits for the cache to be complete.
    """
    budget = _cache_budget()  # a bad $TRAILKIT_CACHE_MAX_GB is the caller's error, not the thread's
    writer = threading.Thread(target=_write_result, args=(df, path, list(problems), budget),
                              name="trailkit-cache-write")
    for done in [p for p, w in _cache_writers.items() if not w.is_alive()]:
        del _cache_writers[done]
    writer.start()
    _cache_writers[path] = writer


def _flush_cache_writes(path: Path | None = None) -> None:
    """Wait until the answer at ``path`` (None: every answer) being written is there."""
    for p in [path] if path is not None else list(_cache_writers):
        writer = _cache_writers.pop(p, None)
        if writer is not None:
            writer.join()


def _write_result(df: pl.DataFrame, path: Path, problems: list[Problem], budget: int | None = None) -> None:
    """Write the whole answer of a load as uncompressed Arrow IPC, ready to be memory-mapped.

    Uncompressed, so the next load maps the file instead of decoding it: 2M events come back
    in well under a second, and pages are read only when a query touches them. It is 20 to 30
    times the size of the Parquet batch cache (1.3 to 1.6 KB per event), so the cache folder
    is kept under a budget (see ``_evict``). Failing to write (disk full, a mapped file on
    Windows) only costs the next load its speed.
    """
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(path.parent).free < 2 * df.estimated_size() + (1 << 30):
            raise OSError("less than twice its size (plus 1 GB) is free on that disk")
        df.write_ipc(tmp, compression="uncompressed", compat_level=pl.CompatLevel.newest())
        # the problems first: an answer that is there always has its problems beside it
        path.with_suffix(".problems").write_text(json.dumps([p.__dict__ for p in problems]))
        os.replace(tmp, path)
    except Exception as exc:  # noqa: BLE001 - a cache write that fails costs speed, never the load
        import warnings

        with contextlib.suppress(OSError):
            tmp.unlink()
        warnings.warn(f"could not write the load cache {path} ({exc}); the next load of these files "
                      f"reads them again. Free space there or set TRAILKIT_CACHE_DIR.", RuntimeWarning,
                      stacklevel=3)
        return
    _evict(path.parent, keep=path, budget=budget)


def _mapped_result(path: Path) -> pl.DataFrame | None:
    """A cached answer, memory-mapped (no copy); None if the file is not a readable answer."""
    try:
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
        df = pl.from_arrow(table, rechunk=False)
    except (OSError, pa.ArrowException):
        return None
    if not isinstance(df, pl.DataFrame) or df.schema != pl.Schema(SCHEMA):
        return None
    try:
        os.utime(path)  # the eviction keeps what was used last
    except OSError:
        pass
    return df


def _cache_budget() -> int:
    raw = os.environ.get("TRAILKIT_CACHE_MAX_GB")
    try:
        gb = float(raw) if raw else _CACHE_MAX_GB_DEFAULT
    except ValueError:
        raise InputError(f"TRAILKIT_CACHE_MAX_GB={raw!r} is not a number of gigabytes (e.g. 10 or 2.5)") from None
    return int(gb * 1e9)


def _evict(cache_dir: Path, keep: Path | None = None, budget: int | None = None) -> list[Path]:
    """Delete the least recently used cache entries until the directory fits its budget.

    Entries are the load answers (``result-*``) and the per-batch Parquet files, each with its
    ``.problems`` file; ``keep`` (the entry just written) is never deleted. Returns what was
    deleted.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for name in ("a.parquet", "b.parquet"):
    ...     _ = (d / name).write_bytes(b"x" * 100)
    >>> [p.name for p in _evict(d, keep=d / "b.parquet", budget=150)]
    ['a.parquet']
    """
    budget = _cache_budget() if budget is None else budget
    entries = []
    for pattern in ("result-*.arrow", "*.parquet", "*.tmp"):  # answers (also old Parquet ones), batches
        for p in cache_dir.glob(pattern):
            try:
                st = p.stat()
            except OSError:
                continue
            if p.suffix == ".tmp" and st.st_mtime > time.time() - 86400:
                continue  # being written now, perhaps by another process; a day old: left by a crash
            entries.append((st.st_mtime, st.st_size, p))
    entries.sort()
    total = sum(size for _, size, _ in entries)
    deleted = []
    for _, size, p in entries:
        if total <= budget:
            break
        if keep is not None and p == keep:
            continue
        for f in (p, p.with_suffix(".problems")):
            try:
                f.unlink()
            except OSError:
                pass
        total -= size
        deleted.append(p)
    return deleted


def _resolve_sources(source, t0, t1, regions, accounts, progress) -> list[str | os.PathLike]:
    srcs = [source] if isinstance(source, str | os.PathLike) else list(source)
    local: list[str | os.PathLike] = []
    for s in srcs:
        if os.fspath(s).startswith("s3://"):
            from trailkit.aws import fetch_logs_url  # boto3 only when asked for

            local.append(fetch_logs_url(os.fspath(s), start=t0, end=t1, regions=regions,
                                        accounts=accounts, progress=progress))
        else:
            local.append(s)
    return local


def _load(
    source, *, start, end, regions, accounts, progress, cache, cache_dir, report: LoadReport, workers,
) -> tuple[pl.DataFrame | None, Path | None]:
    """Everything behind read_events/scan_events. Returns (frame, None) or (None, cached result)."""
    t0 = to_utc(start, "start")
    t1 = to_utc(end, "end")
    if t0 and t1 and t0 > t1:
        raise InputError(f"start {t0.isoformat()} is after end {t1.isoformat()}. Swap them.")
    paths, _ignored = discover_files(_resolve_sources(source, t0, t1, regions, accounts, progress))
    files, skipped = select_files(paths, start=t0, end=t1, regions=regions, accounts=accounts)
    report.files_skipped_by_filter += skipped
    total = sum(max(f.size, 0) for f in files)
    use_cache = (total > (64 << 20)) if cache == "auto" else bool(cache)
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if use_cache:
        # the whole answer for exactly these files and filters, ready to read
        h = hashlib.sha256(repr((t0, t1, sorted(regions or []), sorted(map(str, accounts or [])))).encode())
        for b in _batches(files):
            h.update(_batch_key(b).encode())
        result = cdir / f"result-{h.hexdigest()[:32]}.arrow"
        _flush_cache_writes(result)  # the same load again, while its answer is still being written
        problems = _read_problems(result)
        if problems is not None and _mapped_result(result) is not None:
            report.extend(problems)
            report.files_read += len(files)
            report.from_cache += len(files)
            return None, result
    identities = _Identities()
    results = _load_batches(files, report, cache=use_cache, cache_dir=cdir, progress=progress,
                            identities=identities,
                            workers=workers or min(8, (os.cpu_count() or 1) + 1))
    cond = _row_filter(t0, t1, regions, accounts)
    if results and isinstance(results[0], Path):
        lf = pl.scan_parquet(results, schema=_BATCH_SCHEMA)
        df = (lf.filter(cond) if cond is not None else lf).collect()
    else:
        # eager and without rechunking: a lazy concat would copy every column once more
        frames = [r for r in results if r is not None and r.height]
        df = pl.concat(frames, how="vertical", rechunk=False) if frames else pl.DataFrame(schema=_BATCH_SCHEMA)
        del results, frames
        if cond is not None:
            df = df.filter(cond)
    owned = [df]
    del df
    df, report.duplicates_dropped = _dedup_sort_identify(owned, identities)
    report.events = df.height
    if use_cache:
        _write_result_later(df, result, report.problems)
    return df, None


def scan_events(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    start: str | datetime | date | None = None,
    end: str | datetime | date | None = None,
    regions: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
    on_error: OnError = "warn",
    progress: bool | None = None,
    cache: bool | Literal["auto"] = "auto",
    cache_dir: str | os.PathLike | None = None,
    report: LoadReport | None = None,
    workers: int | None = None,
) -> pl.LazyFrame:
    """Read CloudTrail events into a polars LazyFrame (arguments as :func:`read_events`).

    The files are read when this is called (or found in the Parquet cache, in which case the
    frame scans the cache file and further filters are pushed down into it).

    >>> lf = scan_events("data/samples", regions=["eu-west-1"])  # doctest: +SKIP
    >>> lf.filter(pl.col("event_name") == "DeleteBucket").collect()  # doctest: +SKIP
    """
    global _last_report
    rep = report if report is not None else LoadReport()
    _last_report = rep
    if on_error not in ("warn", "raise", "ignore"):
        raise InputError(f"on_error={on_error!r}: use 'warn', 'raise' or 'ignore'.")
    df, cached = _load(source, start=start, end=end, regions=regions, accounts=accounts,
                       progress=progress, cache=cache, cache_dir=cache_dir, report=rep, workers=workers)
    _report_problems(rep, on_error)
    return _mapped_result(cached).lazy() if cached is not None else df.lazy()  # type: ignore[union-attr]


def _report_problems(rep: LoadReport, on_error: OnError) -> None:
    if rep.problems:
        if on_error == "raise":
            raise LoadError(rep.text(limit=10) + "\nPass on_error='warn' to load the good events anyway.",
                            rep.problems)
        if on_error == "warn":
            rep.warn(stacklevel=4)


def read_events(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    start: str | datetime | date | None = None,
    end: str | datetime | date | None = None,
    regions: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
    on_error: OnError = "warn",
    progress: bool | None = None,
    cache: bool | Literal["auto"] = "auto",
    cache_dir: str | os.PathLike | None = None,
    report: LoadReport | None = None,
    workers: int | None = None,
) -> pl.DataFrame:
    """Read CloudTrail events from files, folders, globs or ``s3://`` URLs into one DataFrame.

    Parameters
    ----------
    source
        A file, a folder (walked recursively), a glob, an ``s3://bucket/prefix`` URL, or a
        list of these. Formats are detected by content.
    start, end
        Keep events with ``start <= event_time < end`` (UTC; naive values are taken as UTC).
        Files whose delivery folder is more than a day outside the window are not opened.
    regions, accounts
        Keep only these ``aws_region`` values / recipient accounts; files in other delivery
        folders are not opened.
    on_error
        ``"warn"`` (default): load every good event, then warn with a summary of what was
        skipped or changed (the full list is in ``report`` / :func:`last_report`).
        ``"raise"``: raise :class:`~trailkit.errors.LoadError` if anything was.
        ``"ignore"``: no warning (the report is still filled).
    progress
        Show a progress bar (terminal or notebook). Default: only for loads over ~48 MB.
    cache
        Keep a Parquet copy of the normalised events (``$TRAILKIT_CACHE_DIR`` or
        ``~/.cache/trailkit``) so the next load of the same files is fast and large loads
        stream through disk. ``"auto"`` (default) caches loads over 64 MB of input.
    report
        A :class:`~trailkit.problems.LoadReport` to fill.
    workers
        Reader threads (default: one more than the CPU count, at most 8; 1 reads in this
        thread only).

    Returns
    -------
    polars.DataFrame
        One row per event (duplicates of ``event_id`` + ``recipient_account_id`` removed), in
        the schema of :mod:`trailkit.schema`, sorted by ``event_time``.

    Examples
    --------
    >>> import trailkit
    >>> df = trailkit.read_events("data/samples", start="2026-03-11", end="2026-03-12")  # doctest: +SKIP
    >>> df.group_by("actor").len().sort("len", descending=True).head()  # doctest: +SKIP
    """
    global _last_report
    rep = report if report is not None else LoadReport()
    _last_report = rep
    if on_error not in ("warn", "raise", "ignore"):
        raise InputError(f"on_error={on_error!r}: use 'warn', 'raise' or 'ignore'.")
    df, cached = _load(source, start=start, end=end, regions=regions, accounts=accounts,
                       progress=progress, cache=cache, cache_dir=cache_dir, report=rep, workers=workers)
    if cached is not None:
        df = _mapped_result(cached)
        rep.events = df.height
    _report_problems(rep, on_error)
    return df


def normalize_records(
    records: Iterable[dict | str | bytes],
    *,
    source: str = "<memory>",
    on_error: OnError = "warn",
    report: LoadReport | None = None,
) -> pl.DataFrame:
    """Normalise CloudTrail records already in memory (dicts, or JSON text/bytes of one record).

    Used for API results (LookupEvents' ``CloudTrailEvent`` strings, EventBridge ``detail``)
    and tests. Duplicates are removed as in :func:`read_events`.

    >>> df = normalize_records(['{"eventTime": "2026-03-10T14:05:32Z", "eventName": "GetCallerIdentity",'
    ...                         ' "userIdentity": {"type": "IAMUser", "userName": "alice"}}'])
    >>> df.select("event_name", "actor").row(0)
    ('GetCallerIdentity', 'alice')
    """
    global _last_report
    rep = report if report is not None else LoadReport()
    _last_report = rep
    parts = []
    for r in records:
        if isinstance(r, dict):
            parts.append(json.dumps(r, ensure_ascii=False))
        elif isinstance(r, bytes):
            parts.append(r.decode("utf-8", errors="surrogateescape"))
        else:
            parts.append(r)
    data = ("[" + ",".join(parts) + "]").encode("utf-8", errors="surrogateescape")
    chunk = _Chunk(LogFile(source, len(data), 0))
    _split_fast(chunk, data)
    df, problems = _parse_chunks(_add_stage1([chunk]))
    rep.extend(problems)
    rep.files_read += 1
    out, rep.duplicates_dropped = _dedup_sort_identify([df])
    rep.events = out.height
    _report_problems(rep, on_error)
    return out
