"""A compiled one-pass reader for delivered CloudTrail log files (``{"Records": [...]}``).

The loader's hot path: it walks the decompressed bytes of a log file once and notes, for every
record and every top-level field the loader uses, where the value starts and ends and what
JSON type it is. A second pass copies those byte ranges straight into Arrow string buffers —
text fields unescaped, nested blocks as the exact bytes of the file. No Python object is made
per record or per value, and both passes release the GIL, so reader threads use every core.

The scanner is strict JSON (RFC 8259): it checks the structure, strings, escapes, numbers and
UTF-8 of the whole file, nested blocks included. Anything it does not accept, or any file
that is not laid out as a delivered log, is answered with an error position and the loader
sends that file down its msgspec path (which in turn keeps every good record and reports the
rest).

The two kernels exist twice, with one contract: in C (``trailkit/_scanc.c``, built when the
package is installed and called through ctypes; loading it is free) and compiled by numba
(``trailkit/_scan_numba.py``, the fallback where no C compiler was at hand at install; it costs
about 0.45 s to load). ``backend()`` says which one is in use; tests run both.

>>> import numpy as np
>>> spec = FieldSpec(["eventName", "userIdentity"], text=[True, False])
>>> data = b'{"Records":[{"eventName":"A\\\\u00e9","userIdentity":{"type":"Root"}}]}'
>>> found = scan(np.frombuffer(data, np.uint8), spec)
>>> found.count, found.error
(1, -1)
>>> [a.to_pylist() for a in build_columns([data], [found], spec)]
[['Aé'], ['{"type":"Root"}']]
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

# kinds of value (``kinds`` array)
ABSENT, STRING, STRING_ESC, OBJECT, ARRAY, TRUE, FALSE, NULL, NUMBER = range(9)

_TABLE_BITS = 10
_TABLE_MASK = (1 << _TABLE_BITS) - 1


def _key_hash(key: bytes) -> int:
    """The slot of a key in FieldSpec.table; _scan computes the same formula inline."""
    n = len(key)
    return (n * 31 + key[0] * 7 + key[-1] * 131 + key[n // 2] * 17) & _TABLE_MASK


@dataclass
class FieldSpec:
    """The top-level fields to capture, in column order, and which are text.

    Text fields become unescaped strings (null unless the value is a JSON string); the others
    keep the exact JSON text of their value (null when absent or ``null``).

    >>> FieldSpec(["eventName"], text=[True]).count
    1
    """

    names: list[str]
    text: list[bool]
    time: str | None = None  # a text field also parsed as a trail timestamp (see _trail_time)

    def __post_init__(self) -> None:
        keys = [n.encode() for n in self.names]
        self.count = len(keys)
        self.key_bytes = np.frombuffer(b"".join(keys) or b"\0", np.uint8).copy()
        self.key_start = np.zeros(len(keys) + 1, np.int64)
        np.cumsum([len(k) for k in keys], out=self.key_start[1:])
        self.table = np.full(1 << _TABLE_BITS, -1, np.int32)
        for i, k in enumerate(keys):
            slot = _key_hash(k)
            while self.table[slot] != -1:
                slot = (slot + 1) & _TABLE_MASK
            self.table[slot] = i
        self.is_text = np.array(self.text, dtype=np.bool_)
        self.time_index = self.names.index(self.time) if self.time else -1
        # where the look-up arrays live, for the C kernels (they are this object's own arrays)
        self.addresses = tuple(_address(a) for a in (self.table, self.key_bytes, self.key_start, self.is_text))


@dataclass(frozen=True)  # tk_fill may use the addresses noted at scan time: nothing may be swapped
class Scanned:
    """Where each captured value of each record lies in one file's bytes."""

    count: int  # records
    starts: np.ndarray  # (count, fields) int32: first byte of the value (its opening quote for text)
    ends: np.ndarray  # (count, fields) int32: one past the last byte
    kinds: np.ndarray  # (count, fields) uint8: ABSENT, STRING, ... (see the module constants)
    sizes: np.ndarray  # (fields,) int64: bytes of the non-null values of each field (an upper bound)
    bounds: np.ndarray  # (count, 2) int32: where each record starts and ends
    unknown: np.ndarray  # (count,) uint8: 1 where a record has a top-level field not in the spec
    error: int  # -1, or the byte position where the file stopped being what we read
    addresses: tuple | None = None  # C kernels: where the file, starts, ends, kinds are, and its length
    source: object = None  # C kernels: the array scanned; it holds a buffer export, so a bytearray
    # under it cannot be resized (moved) while this lives, and the addresses stay valid


# ---------------------------------------------------------------------------------------------
# the kernels: C through ctypes, else numba

_P = ctypes.c_void_p
_I = ctypes.c_int64
_FULL = -2  # tk_scan's error when a record did not fit: call again with more room


class _CKernels:
    """``trailkit/_scanc.c``, loaded with ctypes (which releases the GIL during each call)."""

    name = "c"

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        lib.tk_scan.restype = _I
        lib.tk_scan.argtypes = [_P, _I, _P, _P, _P, _P, _I, _I, _P, _P, _P, _P, _P, _P, _P]
        lib.tk_fill.restype = None
        lib.tk_fill.argtypes = [_P, _I, _I, _P, _P, _P, _P, _P, _P, _P, _P, _P, _I, _I, _I, _P]
        self._scan, self._fill, self.path = lib.tk_scan, lib.tk_fill, path

    def scan_arrays(self, buf: np.ndarray, spec: FieldSpec) -> tuple:
        n = buf.shape[0]
        nf = spec.count
        cap = max(16, n // 512)  # real records are far above 512 bytes; tiny ones take a second call
        small = np.zeros(nf + 1, np.int64)  # the field sizes, then the error position
        sizes, error = small[:nf], small[nf:]
        s0, at = _address(small), _address(buf)
        while True:  # two allocations per file: the loader calls this for every file
            ints = np.empty(cap * (2 * nf + 2), np.int32)
            bytes_ = np.empty(cap * (nf + 1), np.uint8)
            i0, b0 = _address(ints), _address(bytes_)
            count = self._scan(at, n, *spec.addresses, nf, cap, i0, i0 + 4 * cap * nf, b0, s0,
                               i0 + 8 * cap * nf, b0 + cap * nf, s0 + 8 * nf)
            if error[0] != _FULL:
                starts = ints[:cap * nf].reshape(cap, nf)
                ends = ints[cap * nf:2 * cap * nf].reshape(cap, nf)
                bounds = ints[2 * cap * nf:].reshape(cap, 2)
                kinds = bytes_[:cap * nf].reshape(cap, nf)
                unknown = bytes_[cap * nf:]
                return (count, starts, ends, kinds, sizes, bounds, unknown, int(error[0]),
                        (at, i0, i0 + 4 * cap * nf, b0, n))
            cap = n // 3 + 16  # a record takes at least 3 bytes: "{}" and a comma

    def fill_all(self, datas: list[bytes], scans: list[Scanned], spec: FieldSpec, bufs: tuple,
                 cursor: np.ndarray, offsets: np.ndarray, valid: np.ndarray, nulls: np.ndarray,
                 times: np.ndarray) -> None:
        """``tk_fill`` for each file in turn (see ``build_columns``)."""
        addr = _address
        fixed = ((ctypes.c_void_p * len(bufs))(*[addr(b) for b in bufs]), addr(cursor), addr(offsets),
                 addr(valid), addr(nulls), valid.shape[1])
        tail = (spec.time_index, addr(times) if times.size else None)
        is_text, nf, fill = spec.addresses[3], spec.count, self._fill
        row = 0
        for data, s in zip(datas, scans, strict=True):
            if s.count:
                if s.addresses is not None and _owner(data) is _owner(s.source) and s.addresses[4] == len(data):
                    where = s.addresses  # the very bytes tk_scan read, still as long
                else:  # scanned elsewhere (numba), or other bytes: look the arrays up, check the ends
                    check_bytes(data, s)
                    starts, ends, kinds = (np.ascontiguousarray(a) for a in (s.starts, s.ends, s.kinds))
                    where = (addr(np.frombuffer(data, np.uint8)), addr(starts), addr(ends), addr(kinds))
                fill(where[0], s.count, nf, where[1], where[2], where[3], is_text, *fixed, row, *tail)
                row += s.count


def check_bytes(data: bytes, found: Scanned) -> None:
    """Raise ValueError if ``found``'s values would lie past the end of ``data``.

    The kernels copy without bounds checks; ``build_columns`` given other bytes than the
    scanned ones must fail here, not read past a buffer.
    """
    present = found.kinds != ABSENT  # the starts and ends of absent values were never written
    if present.any() and int(found.ends[present].max()) > len(data):
        raise ValueError("build_columns: these bytes are not the ones that were scanned")


def _owner(data: object) -> object:
    """The object that owns the bytes of ``data`` (for ``np.frombuffer(x)``: ``x``)."""
    if isinstance(data, np.ndarray) and data.base is not None:
        data = data.base
    return data.obj if isinstance(data, memoryview) else data


def _address(a: np.ndarray) -> int:
    """Where an array's first byte is (what ctypes passes to C)."""
    return a.__array_interface__["data"][0]


_kernels: dict[str, Any] = {}


def c_library_path() -> str | None:
    """Where the built C kernels are (``trailkit/_scanc.*.so``), or None if they were not built.

    >>> c_library_path() is None or c_library_path().endswith(('.so', '.pyd', '.dylib'))
    True
    """
    spec = importlib.util.find_spec("trailkit._scanc")
    return spec.origin if spec is not None and spec.origin and os.path.exists(spec.origin) else None


def kernels(name: str | None = None) -> Any:
    """The kernels to use: ``"c"``, ``"numba"``, or None for the best one available.

    ``$TRAILKIT_SCANNER`` (``c`` or ``numba``) overrides the choice. Raises ImportError or
    OSError when the one asked for cannot load.

    >>> kernels().name in ("c", "numba")
    True
    """
    name = name or os.environ.get("TRAILKIT_SCANNER") or None
    if name is None and "default" in _kernels:  # looked up once: the loader asks per file
        return _kernels["default"]
    if name is None:
        _kernels["default"] = _best_kernels()
        return _kernels["default"]
    return _named_kernels(name)


def _best_kernels() -> Any:
    """C if it was built and loads, else numba (with a warning when the C build does not load)."""
    if c_library_path():
        try:
            return _named_kernels("c")
        except OSError as exc:  # built for another machine, or damaged
            import warnings

            warnings.warn(f"trailkit's C scanner at {c_library_path()} does not load ({exc}); "
                          f"using numba's build. Reinstall trailkit to rebuild it.",
                          RuntimeWarning, stacklevel=3)
    return _named_kernels("numba")


def _named_kernels(name: str) -> Any:
    if name not in _kernels:
        if name == "c":
            path = c_library_path()
            if path is None:
                raise ImportError("trailkit's C scanner was not built (no C compiler at install?); "
                                  "reinstall with a compiler, or set TRAILKIT_SCANNER=numba")
            _kernels[name] = _CKernels(path)
        elif name == "numba":
            from trailkit import _scan_numba

            _kernels[name] = _scan_numba
        else:
            raise ValueError(f"TRAILKIT_SCANNER={name!r}: use 'c' or 'numba'")
    return _kernels[name]


def c_ready() -> bool:
    """Whether the loader will scan with the C kernels: built, loadable, not overridden.

    Loads the C library if need be, never numba (the loader decides from this whether the
    scanner is free to load, or worth loading on a thread first).

    >>> c_ready() == (backend() == "c")
    True
    """
    if os.environ.get("TRAILKIT_SCANNER", "c") != "c" or c_library_path() is None:
        return False
    try:
        _named_kernels("c")
    except OSError:  # kernels() warns and uses numba
        return False
    return True


def backend() -> str:
    """The name of the kernels the loader uses (see ``kernels``).

    >>> backend() in ("c", "numba")
    True
    """
    return kernels().name


# ---------------------------------------------------------------------------------------------
# the scanner


def scan(buf: np.ndarray, spec: FieldSpec, using: str | None = None) -> Scanned:
    """Scan the bytes of one delivered log file (``np.frombuffer(data, np.uint8)``).

    ``using`` picks the kernels (see ``kernels``).

    >>> s = scan(np.frombuffer(b'{"Records":[]}', np.uint8), FieldSpec(["eventName"], [True]))
    >>> (s.count, s.error)
    (0, -1)
    >>> scan(np.frombuffer(b'{"Records":[{"a":01}]}', np.uint8), FieldSpec(["a"], [True])).error
    17
    """
    if buf.shape[0] >= 1 << 31:  # offsets are int32: leave a giant file to msgspec
        empty = np.zeros((0, spec.count), np.int32)
        return Scanned(0, empty, empty, empty.astype(np.uint8), np.zeros(spec.count, np.int64),
                       np.zeros((0, 2), np.int32), np.zeros(0, np.uint8), 0)
    count, starts, ends, kinds, sizes, bounds, unknown, error, where = kernels(using).scan_arrays(buf, spec)
    return Scanned(count, starts[:count], ends[:count], kinds[:count], sizes, bounds[:count], unknown[:count],
                   int(error), where, buf if where is not None else None)


# ---------------------------------------------------------------------------------------------
# building Arrow columns


def build_columns(datas: list[bytes], scans: list[Scanned], spec: FieldSpec,
                  using: str | None = None) -> list[pa.Array]:
    """Arrow ``large_string`` arrays, one per field of ``spec``, over the records of every file.

    ``datas`` are the decompressed files that ``scans`` came from (same order). Each column
    gets its own buffer, so a column dropped later frees its memory. When ``spec.time`` is
    set, one more array follows: that field as a UTC timestamp (null where it is not in the
    trail form).

    >>> spec = FieldSpec(["n", "b"], [True, False])
    >>> data = b'{"Records":[{"n":"x","b":[1, 2]},{"b":null}]}'
    >>> found = scan(np.frombuffer(data, np.uint8), spec)
    >>> [a.to_pylist() for a in build_columns([data], [found], spec)]
    [['x', None], ['[1, 2]', None]]
    """
    total = sum(s.count for s in scans)
    sizes = np.sum([s.sizes for s in scans], axis=0) if scans else np.zeros(spec.count, np.int64)
    bufs = tuple(np.empty(max(int(size), 1), np.uint8) for size in sizes)
    cursor = np.zeros(spec.count, np.int64)
    offsets = np.empty((spec.count, total + 1), np.int64)
    offsets[:, 0] = 0
    valid = np.empty((spec.count, total), np.bool_)
    nulls = np.zeros(spec.count, np.int64)
    times = np.empty(total if spec.time_index >= 0 else 0, np.int64)
    kernels(using).fill_all(datas, scans, spec, bufs, cursor, offsets, valid, nulls, times)
    out = []
    for f in range(spec.count):
        validity = pa.py_buffer(np.packbits(valid[f], bitorder="little")) if nulls[f] else None
        out.append(pa.Array.from_buffers(
            pa.large_string(), total,
            [validity, pa.py_buffer(offsets[f]), pa.py_buffer(bufs[f][:cursor[f]])],
            null_count=int(nulls[f])))
    if spec.time_index >= 0:
        bad = times == -1  # whole seconds only, so -1 µs is never a real value
        out.append(pa.Array.from_buffers(
            pa.timestamp("us", tz="UTC"), total,
            [pa.py_buffer(np.packbits(~bad, bitorder="little")) if bad.any() else None, pa.py_buffer(times)]))
    return out


def warm(using: str | None = None) -> None:
    """Load the kernels and run them once (numba: compile, or load its disk cache).

    numba's first compile on a machine takes about ten seconds; ``./run`` does it once at
    install (``python -m trailkit._scan``), for the day the C kernels are missing.

    >>> warm()
    """
    spec = FieldSpec(["eventName", "eventTime", "userIdentity"], [True, True, False], time="eventTime")
    data = b'{"Records":[{"eventName":"\\u00e9","eventTime":"2026-03-09T00:00:55Z","userIdentity":{}}]}'
    build_columns([data], [scan(np.frombuffer(data, np.uint8), spec, using)], spec, using)


if __name__ == "__main__":
    warm("numba")
    print(f"trailkit scanner: {backend()} ({c_library_path() or 'numba; the C kernels were not built'})")
