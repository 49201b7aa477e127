"""The scanner's kernels compiled with numba: the fallback where trailkit's C library is absent.

Same contract as ``trailkit/_scanc.c`` (see ``trailkit._scan`` for how they are called): the
C build is preferred because loading it costs nothing, while numba costs about 0.45 s to
import and load its cached machine code. The first compile on a machine takes about ten
seconds and is cached on disk; ``python -m trailkit._scan`` does it ahead of time.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trailkit._scan import (
    _TABLE_MASK,
    ABSENT,
    ARRAY,
    FALSE,
    NULL,
    NUMBER,
    OBJECT,
    STRING,
    STRING_ESC,
    TRUE,
    check_bytes,
)

name = "numba"  # what trailkit._scan.backend() reports


@njit(cache=True, nogil=True, inline="always")
def _ws(buf, i, n):
    while i < n:
        c = buf[i]
        if c == 32 or c == 10 or c == 13 or c == 9:
            i += 1
        else:
            break
    return i


@njit(cache=True, nogil=True, inline="always")
def _hex4(buf, i, n):
    """Value of the four hex digits at ``i``, or -1."""
    if i + 4 > n:
        return -1
    v = 0
    for k in range(4):
        c = buf[i + k]
        if 48 <= c <= 57:
            d = c - 48
        elif 97 <= c <= 102:
            d = c - 87
        elif 65 <= c <= 70:
            d = c - 55
        else:
            return -1
        v = v * 16 + d
    return v


@njit(cache=True, nogil=True)
def _string_checked(buf, i, n):
    """The slow, careful read of the string opening at ``buf[i]``: index after it, or -1.

    Checks escapes (surrogates must pair) and UTF-8 (no overlongs, no surrogates, nothing
    past U+10FFFF). Only called for strings with a backslash or a byte >= 0x80.
    """
    i += 1
    while i < n:
        c = buf[i]
        if c == 34:  # "
            return i + 1
        if c == 92:  # backslash
            if i + 1 >= n:
                return -1
            e = buf[i + 1]
            if e == 117:  # \\uXXXX
                v = _hex4(buf, i + 2, n)
                if v < 0:
                    return -1
                i += 6
                if 0xD800 <= v <= 0xDBFF:
                    if i + 1 >= n or buf[i] != 92 or buf[i + 1] != 117:
                        return -1
                    w = _hex4(buf, i + 2, n)
                    if w < 0xDC00 or w > 0xDFFF:
                        return -1
                    i += 6
                elif 0xDC00 <= v <= 0xDFFF:
                    return -1
            elif e == 34 or e == 92 or e == 47 or e == 98 or e == 102 or e == 110 or e == 114 or e == 116:
                i += 2
            else:
                return -1
        elif c < 32:
            return -1
        elif c < 128:
            i += 1
        else:
            if 0xC2 <= c <= 0xDF:
                need, lo, hi = 1, 0x80, 0xBF
            elif c == 0xE0:
                need, lo, hi = 2, 0xA0, 0xBF
            elif c == 0xED:
                need, lo, hi = 2, 0x80, 0x9F
            elif 0xE1 <= c <= 0xEF:
                need, lo, hi = 2, 0x80, 0xBF
            elif c == 0xF0:
                need, lo, hi = 3, 0x90, 0xBF
            elif 0xF1 <= c <= 0xF3:
                need, lo, hi = 3, 0x80, 0xBF
            elif c == 0xF4:
                need, lo, hi = 3, 0x80, 0x8F
            else:
                return -1
            if i + need >= n:
                return -1
            b = buf[i + 1]
            if b < lo or b > hi:
                return -1
            for k in range(2, need + 1):
                b = buf[i + k]
                if b < 0x80 or b > 0xBF:
                    return -1
            i += need + 1
    return -1


@njit(cache=True, nogil=True, inline="always")
def _digits(buf, i, n):
    while i < n and 48 <= buf[i] <= 57:
        i += 1
    return i


@njit(cache=True, nogil=True)
def _number_end(buf, i, n):
    """Index after the JSON number at ``i``, or -1."""
    if i < n and buf[i] == 45:  # -
        i += 1
    if i >= n:
        return -1
    if buf[i] == 48:  # a leading 0 stands alone
        i += 1
    elif 49 <= buf[i] <= 57:
        i = _digits(buf, i, n)
    else:
        return -1
    if i < n and buf[i] == 46:  # .
        j = _digits(buf, i + 1, n)
        if j == i + 1:
            return -1
        i = j
    if i < n and (buf[i] == 101 or buf[i] == 69):  # e E
        i += 1
        if i < n and (buf[i] == 43 or buf[i] == 45):
            i += 1
        j = _digits(buf, i, n)
        if j == i:
            return -1
        i = j
    return i


@njit(cache=True, nogil=True, inline="always")
def _word_end(buf, i, n, c):
    """End of ``true``/``false``/``null`` (first byte ``c``) at ``i``, or -1."""
    if c == 116:
        ok = i + 4 <= n and buf[i + 1] == 114 and buf[i + 2] == 117 and buf[i + 3] == 101
        return i + 4 if ok else -1
    if c == 102:
        ok = (i + 5 <= n and buf[i + 1] == 97 and buf[i + 2] == 108 and buf[i + 3] == 115
              and buf[i + 4] == 101)
        return i + 5 if ok else -1
    ok = i + 4 <= n and buf[i + 1] == 117 and buf[i + 2] == 108 and buf[i + 3] == 108
    return i + 4 if ok else -1


_HEAD = np.frombuffer(b'"Records"', np.uint8).copy()
#: bytes that end the fast loop over a string: the closing quote (1), and a backslash, a
#: control character or a non-ASCII byte (2), which need the careful read
_SPECIAL = np.zeros(256, np.uint8)
_SPECIAL[:32] = 2
_SPECIAL[128:] = 2
_SPECIAL[92] = 2
_SPECIAL[34] = 1


# grammar states inside a container (the token loop of _scan)
_VALUE, _VALUE_OR_CLOSE, _KEY_OR_CLOSE, _KEY, _COLON, _COMMA_OR_CLOSE = range(6)


@njit(cache=True, nogil=True)
def _scan(buf, table, key_bytes, key_start, is_text, head, special):
    """Scan one ``{"Records": [...]}`` file. Returns (count, starts, ends, kinds, error).

    One token loop over the whole file with an explicit stack of open brackets: depth 1 is
    the Records array, depth 2 a record, deeper levels its nested blocks. Everything on the
    common path is written out in this one function: numba does not inline calls, and a call
    per token would cost more than the token. Rare cases (escapes, non-ASCII, numbers,
    literals) call helpers.
    """
    n = buf.shape[0]
    nfields = is_text.shape[0]
    un = np.uint64(n)
    one = np.uint64(1)
    sizes = np.zeros(nfields, np.int64)
    cap = max(16, n // 1024)
    starts = np.empty((cap, nfields), np.int32)  # a file is far below 2 GiB (see scan)
    ends = np.empty((cap, nfields), np.int32)
    kinds = np.zeros((cap, nfields), np.uint8)
    bounds = np.empty((cap, 2), np.int32)  # each record's first and one-past-last byte
    unknown = np.zeros(cap, np.uint8)  # 1: the record has a top-level field not in the spec
    stack = np.empty(512, np.uint8)
    count = 0
    # the head: {"Records":[
    i = _ws(buf, 0, n)
    if i >= n or buf[i] != 123:
        return 0, starts, ends, kinds, sizes, bounds, unknown, i
    i = _ws(buf, i + 1, n)
    if i + len(head) > n:
        return 0, starts, ends, kinds, sizes, bounds, unknown, i
    for k in range(len(head)):
        if buf[i + k] != head[k]:
            return 0, starts, ends, kinds, sizes, bounds, unknown, i
    i = _ws(buf, i + len(head), n)
    if i >= n or buf[i] != 58:
        return 0, starts, ends, kinds, sizes, bounds, unknown, i
    i = _ws(buf, i + 1, n)
    if i >= n or buf[i] != 91:
        return 0, starts, ends, kinds, sizes, bounds, unknown, i
    stack[0] = 91
    depth = 1
    state = _VALUE_OR_CLOSE
    i += 1
    field = -1  # the top-level field whose value is being read (-1: not one we keep)
    vstart = 0  # where that value starts
    vchar = 0  # its first byte
    vslow = False  # a string value that had escapes or non-ASCII bytes
    while True:
        if i >= n:
            return count, starts, ends, kinds, sizes, bounds, unknown, i
        c = buf[i]
        done = False  # a value ended at this depth
        if c == 34:  # a string: key or value (the common case first)
            u = np.uint64(i + 1)  # unsigned: numba then skips the negative-index check
            slow = False
            while u < un:  # one table look-up per byte: 1 = quote, 2 = needs the careful read
                t = special[buf[u]]
                if t:
                    slow = t == 2
                    break
                u += one
            j = np.int64(u)
            if slow:
                j = _string_checked(buf, i, n)
                if j < 0:
                    return count, starts, ends, kinds, sizes, bounds, unknown, i
            elif j >= n:
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            else:
                j += 1
            if state == _KEY_OR_CLOSE or state == _KEY:
                if depth == 2:  # a top-level key of a record
                    if slow:  # escaped or non-ASCII key: msgspec reads this file
                        return count, starts, ends, kinds, sizes, bounds, unknown, i
                    s = i + 1
                    e = j - 1
                    field = -1
                    if e > s:
                        m = e - s
                        slot = (m * 31 + buf[s] * 7 + buf[e - 1] * 131 + buf[s + m // 2] * 17) & _TABLE_MASK
                        while True:
                            f = table[slot]
                            if f < 0:
                                break
                            ks = key_start[f]
                            if key_start[f + 1] - ks == m:
                                same = True
                                for k in range(m):
                                    if key_bytes[ks + k] != buf[s + k]:
                                        same = False
                                        break
                                if same:
                                    field = f
                                    break
                            slot = (slot + 1) & _TABLE_MASK
                    if field < 0:
                        unknown[count] = 1
                state = _COLON
                i = j
                continue
            if state != _VALUE and state != _VALUE_OR_CLOSE:
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            if depth == 2:
                vstart = i
                vchar = 34
                vslow = slow
            i = j
            done = True
        elif c == 58:  # :
            if state != _COLON:
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            state = _VALUE
            i += 1
            continue
        elif c == 44:  # ,
            if state != _COMMA_OR_CLOSE:
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            state = _KEY if stack[depth - 1] == 123 else _VALUE
            i += 1
            continue
        elif c == 123 or c == 91:  # { [
            if state != _VALUE and state != _VALUE_OR_CLOSE:
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            if depth == 1:  # a record starts
                if c != 123:
                    return count, starts, ends, kinds, sizes, bounds, unknown, i
                if count == cap:
                    cap *= 2
                    s2 = np.empty((cap, nfields), np.int32)
                    e2 = np.empty((cap, nfields), np.int32)
                    k2 = np.zeros((cap, nfields), np.uint8)
                    b2 = np.empty((cap, 2), np.int32)
                    u2 = np.zeros(cap, np.uint8)
                    s2[:count] = starts[:count]
                    e2[:count] = ends[:count]
                    k2[:count] = kinds[:count]
                    b2[:count] = bounds[:count]
                    u2[:count] = unknown[:count]
                    starts, ends, kinds, bounds, unknown = s2, e2, k2, b2, u2
                bounds[count, 0] = i
            elif depth == 2:
                vstart = i
                vchar = c
            if depth >= stack.shape[0]:
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            stack[depth] = c
            depth += 1
            state = _KEY_OR_CLOSE if c == 123 else _VALUE_OR_CLOSE
            i += 1
            continue
        elif c == 125 or c == 93:  # } ]
            top = stack[depth - 1]
            if c == 125:
                if top != 123 or (state != _KEY_OR_CLOSE and state != _COMMA_OR_CLOSE):
                    return count, starts, ends, kinds, sizes, bounds, unknown, i
            elif top != 91 or (state != _VALUE_OR_CLOSE and state != _COMMA_OR_CLOSE):
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            depth -= 1
            i += 1
            if depth == 0:  # the end of the Records array
                break
            if depth == 1:  # the end of a record
                bounds[count, 1] = i
                count += 1
                state = _COMMA_OR_CLOSE
                continue
            done = True
        elif c == 32 or c == 10 or c == 13 or c == 9:  # whitespace (rare in delivered logs)
            i += 1
            continue
        else:  # number, true, false, null
            if state != _VALUE and state != _VALUE_OR_CLOSE:
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            if depth == 1:  # a record that is not an object
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            if c == 116 or c == 102 or c == 110:
                j = _word_end(buf, i, n, c)
            else:
                j = _number_end(buf, i, n)
            if j < 0:
                return count, starts, ends, kinds, sizes, bounds, unknown, i
            if depth == 2:
                vstart = i
                vchar = c
            i = j
            done = True
        if done:
            state = _COMMA_OR_CLOSE
            if depth == 2 and field >= 0:  # a top-level value we keep ended
                if is_text[field] and vchar != 34 and vchar != 110:  # text that is not a string
                    return count, starts, ends, kinds, sizes, bounds, unknown, vstart
                r = count
                starts[r, field] = vstart
                ends[r, field] = i
                if vchar == 34:
                    kinds[r, field] = STRING_ESC if vslow else STRING
                    sizes[field] += i - vstart
                elif vchar == 110:
                    kinds[r, field] = NULL
                elif vchar == 123:
                    kinds[r, field] = OBJECT
                elif vchar == 91:
                    kinds[r, field] = ARRAY
                elif vchar == 116:
                    kinds[r, field] = TRUE
                elif vchar == 102:
                    kinds[r, field] = FALSE
                else:
                    kinds[r, field] = NUMBER
                if vchar != 34 and vchar != 110:
                    sizes[field] += i - vstart
                field = -1
    # the tail: }
    i = _ws(buf, i, n)
    if i >= n or buf[i] != 125:  # another top-level key, or no closing brace
        return count, starts, ends, kinds, sizes, bounds, unknown, i
    i = _ws(buf, i + 1, n)
    if i != n:
        return count, starts, ends, kinds, sizes, bounds, unknown, i
    return count, starts, ends, kinds, sizes, bounds, unknown, -1



@njit(cache=True, nogil=True)
def _unescape(buf, s, e, out, o):
    """Copy the JSON string body ``buf[s:e]`` to ``out[o:]`` unescaped; returns the new ``o``.

    The scanner has already checked the escapes and surrogate pairs.
    """
    i = s
    while i < e:
        c = buf[i]
        if c != 92:
            out[o] = c
            o += 1
            i += 1
            continue
        x = buf[i + 1]
        if x != 117:
            if x == 98:
                c = 8
            elif x == 102:
                c = 12
            elif x == 110:
                c = 10
            elif x == 114:
                c = 13
            elif x == 116:
                c = 9
            else:  # " \ /
                c = x
            out[o] = c
            o += 1
            i += 2
            continue
        v = _hex4(buf, i + 2, e)
        i += 6
        if 0xD800 <= v <= 0xDBFF:
            w = _hex4(buf, i + 2, e)
            v = 0x10000 + ((v - 0xD800) << 10) + (w - 0xDC00)
            i += 6
        if v < 0x80:
            out[o] = v
            o += 1
        elif v < 0x800:
            out[o] = 0xC0 | (v >> 6)
            out[o + 1] = 0x80 | (v & 0x3F)
            o += 2
        elif v < 0x10000:
            out[o] = 0xE0 | (v >> 12)
            out[o + 1] = 0x80 | ((v >> 6) & 0x3F)
            out[o + 2] = 0x80 | (v & 0x3F)
            o += 3
        else:
            out[o] = 0xF0 | (v >> 18)
            out[o + 1] = 0x80 | ((v >> 12) & 0x3F)
            out[o + 2] = 0x80 | ((v >> 6) & 0x3F)
            out[o + 3] = 0x80 | (v & 0x3F)
            o += 4
    return o


@njit(cache=True, nogil=True)
def _trail_time(buf, s, e):
    """``YYYY-MM-DDTHH:MM:SSZ`` in ``buf[s:e]`` → microseconds since 1970 UTC, or -1.

    Only this exact form (the one trails write) and only valid dates; anything else is left to
    polars' slower parser. Days from the civil date as in H. Hinnant's ``days_from_civil``.
    """
    if e - s != 20 or buf[s + 4] != 45 or buf[s + 7] != 45 or buf[s + 10] != 84 \
            or buf[s + 13] != 58 or buf[s + 16] != 58 or buf[s + 19] != 90:
        return -1
    v = np.zeros(6, np.int64)
    pos = (0, 5, 8, 11, 14, 17)
    width = (4, 2, 2, 2, 2, 2)
    for k in range(6):
        x = 0
        for d in range(width[k]):
            c = buf[s + pos[k] + d]
            if c < 48 or c > 57:
                return -1
            x = x * 10 + (c - 48)
        v[k] = x
    y, m, d, hh, mm, ss = v[0], v[1], v[2], v[3], v[4], v[5]
    if m < 1 or m > 12 or d < 1 or hh > 23 or mm > 59 or ss > 59:
        return -1
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    mdays = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if d > mdays[m - 1]:
        return -1
    y -= 1 if m <= 2 else 0
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return (((days * 24 + hh) * 60 + mm) * 60 + ss) * 1_000_000


@njit(cache=True, nogil=True)
def _fill(buf, starts, ends, kinds, is_text, datas, cursor, offsets, valid, nulls, row0, tf, times):
    """Copy the values of one file into the columns' buffers (rows ``row0`` onwards).

    ``datas[f]`` is field ``f``'s byte buffer, ``cursor[f]`` where its next value goes,
    ``offsets[f]``/``valid[f]`` its Arrow offsets and validity.
    """
    one = np.uint64(1)
    for r in range(kinds.shape[0]):
        row = row0 + r
        for f in range(kinds.shape[1]):
            kind = kinds[r, f]
            o = cursor[f]
            if is_text[f]:  # a string's body, without its quotes
                ok = kind == STRING or kind == STRING_ESC
                trim = 1
            else:  # the value's exact JSON text
                ok = kind != ABSENT and kind != NULL
                trim = 0
            if ok and trim and kind == STRING_ESC:
                o = _unescape(buf, starts[r, f] + 1, ends[r, f] - 1, datas[f], o)
            elif ok:
                a = np.uint64(starts[r, f] + trim)
                b = np.uint64(ends[r, f] - trim)
                out = datas[f]
                u = np.uint64(o)
                while a < b:  # unsigned indices: no negative-index checks, so LLVM vectorises
                    out[u] = buf[a]
                    u += one
                    a += one
                o = np.int64(u)
            if f == tf:
                times[row] = _trail_time(buf, starts[r, f] + 1, ends[r, f] - 1) if kind == STRING else -1
            if not ok:
                nulls[f] += 1
            valid[f, row] = ok
            cursor[f] = o
            offsets[f, row + 1] = o


def scan_arrays(buf: np.ndarray, spec) -> tuple:
    """``_scan`` over one file: (count, starts, ends, kinds, sizes, bounds, unknown, error, None)."""
    return (*_scan(buf, spec.table, spec.key_bytes, spec.key_start, spec.is_text, _HEAD, _SPECIAL), None)


def fill_all(datas: list[bytes], scans: list, spec, bufs: tuple, cursor: np.ndarray, offsets: np.ndarray,
             valid: np.ndarray, nulls: np.ndarray, times: np.ndarray) -> None:
    """``_fill`` for each scanned file in turn (see ``trailkit._scan.build_columns``)."""
    row = 0
    for data, s in zip(datas, scans, strict=True):
        if s.count:
            check_bytes(data, s)  # numba does not check bounds either
            _fill(np.frombuffer(data, np.uint8), s.starts, s.ends, s.kinds, spec.is_text, bufs, cursor, offsets,
                  valid, nulls, row, spec.time_index, times)
            row += s.count
