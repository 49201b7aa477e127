/* trailkit's compiled scanner for delivered CloudTrail log files ({"Records": [...]}).
 *
 * The same two kernels as the numba versions in trailkit/_scan_numba.py, written in C so
 * that loading them costs a dlopen, not a JIT runtime: tk_scan walks one file once and notes
 * where each captured top-level value of each record starts and ends; tk_fill copies those
 * byte ranges into Arrow string buffers. Python calls them through ctypes (trailkit/_scan.py),
 * which releases the GIL for the call. Plain C99 with no Python headers; SSE2 (present on
 * every x86-64) speeds up the walk over strings, other CPUs use the byte loop.
 *
 * Strict JSON (RFC 8259) for the whole file: structure, string escapes (surrogates must pair),
 * numbers, literals and UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). Anything
 * else stops the scan with the byte position, and the loader reads that file with msgspec.
 * tests/test_scan.py compares both kernels with msgspec, including on random mutations.
 */
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* kinds of value: the same numbers as trailkit/_scan.py */
enum { ABSENT, STRING, STRING_ESC, OBJECT, ARRAY, KTRUE, KFALSE, KNULL, NUMBER };
/* grammar states inside a container */
enum { S_VALUE, S_VALUE_OR_CLOSE, S_KEY_OR_CLOSE, S_KEY, S_COLON, S_COMMA_OR_CLOSE };

#define TABLE_MASK 1023 /* FieldSpec.table has 1 << 10 slots (trailkit/_scan.py _key_hash) */
#define MAX_DEPTH 512
#define FULL (-2)       /* *error when the caller's arrays are full: call again with more room */

static const char HEAD[] = "\"Records\"";

static int64_t ws(const uint8_t *b, int64_t i, int64_t n) {
    while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t'))
        i++;
    return i;
}

/* value of the four hex digits at i, or -1 */
static int32_t hex4(const uint8_t *b, int64_t i, int64_t n) {
    if (i + 4 > n)
        return -1;
    int32_t v = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = b[i + k];
        int32_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* the careful read of the string opening at b[i]: index after it, or -1 */
static int64_t string_checked(const uint8_t *b, int64_t i, int64_t n) {
    i++;
    while (i < n) {
        uint8_t c = b[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            if (i + 1 >= n)
                return -1;
            uint8_t e = b[i + 1];
            if (e == 'u') {
                int32_t v = hex4(b, i + 2, n);
                if (v < 0)
                    return -1;
                i += 6;
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (i + 1 >= n || b[i] != '\\' || b[i + 1] != 'u')
                        return -1;
                    int32_t w = hex4(b, i + 2, n);
                    if (w < 0xDC00 || w > 0xDFFF)
                        return -1;
                    i += 6;
                } else if (v >= 0xDC00 && v <= 0xDFFF) {
                    return -1;
                }
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                i += 2;
            } else {
                return -1;
            }
        } else if (c < 32) {
            return -1;
        } else if (c < 128) {
            i++;
        } else {
            int need;
            uint8_t lo, hi;
            if (c >= 0xC2 && c <= 0xDF) {
                need = 1; lo = 0x80; hi = 0xBF;
            } else if (c == 0xE0) {
                need = 2; lo = 0xA0; hi = 0xBF;
            } else if (c == 0xED) {
                need = 2; lo = 0x80; hi = 0x9F;
            } else if (c >= 0xE1 && c <= 0xEF) {
                need = 2; lo = 0x80; hi = 0xBF;
            } else if (c == 0xF0) {
                need = 3; lo = 0x90; hi = 0xBF;
            } else if (c >= 0xF1 && c <= 0xF3) {
                need = 3; lo = 0x80; hi = 0xBF;
            } else if (c == 0xF4) {
                need = 3; lo = 0x80; hi = 0x8F;
            } else {
                return -1;
            }
            if (i + need >= n)
                return -1;
            if (b[i + 1] < lo || b[i + 1] > hi)
                return -1;
            for (int k = 2; k <= need; k++)
                if (b[i + k] < 0x80 || b[i + k] > 0xBF)
                    return -1;
            i += need + 1;
        }
    }
    return -1;
}

static int64_t digits(const uint8_t *b, int64_t i, int64_t n) {
    while (i < n && b[i] >= '0' && b[i] <= '9')
        i++;
    return i;
}

/* index after the JSON number at i, or -1 */
static int64_t number_end(const uint8_t *b, int64_t i, int64_t n) {
    if (i < n && b[i] == '-')
        i++;
    if (i >= n)
        return -1;
    if (b[i] == '0')
        i++;
    else if (b[i] >= '1' && b[i] <= '9')
        i = digits(b, i, n);
    else
        return -1;
    if (i < n && b[i] == '.') {
        int64_t j = digits(b, i + 1, n);
        if (j == i + 1)
            return -1;
        i = j;
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        i++;
        if (i < n && (b[i] == '+' || b[i] == '-'))
            i++;
        int64_t j = digits(b, i, n);
        if (j == i)
            return -1;
        i = j;
    }
    return i;
}

/* end of true / false / null at i, or -1 */
static int64_t word_end(const uint8_t *b, int64_t i, int64_t n) {
    const char *w = b[i] == 't' ? "true" : b[i] == 'f' ? "false" : "null";
    int64_t m = (int64_t)strlen(w);
    if (i + m > n || memcmp(b + i, w, (size_t)m) != 0)
        return -1;
    return i + m;
}

/* 1: a closing quote; 2: a byte the fast loop leaves to string_checked */
static uint8_t SPECIAL[256];
static volatile int special_ready = 0;

static void init_special(void) {
    for (int c = 0; c < 256; c++)
        SPECIAL[c] = (c < 32 || c >= 128 || c == '\\') ? 2 : c == '"' ? 1 : 0;
    special_ready = 1;
}

/* Scan one file. Arrays are row-major (cap, nfields); the caller sizes them for `cap`
 * records. Returns the number of records read; *error is -1 when the whole file was read,
 * FULL when a record did not fit (call again with a larger cap), else the byte position
 * where the file stopped being what we read. sizes[f] gets the bytes of field f's values. */
int64_t tk_scan(const uint8_t *buf, int64_t n,
                const int32_t *table, const uint8_t *key_bytes, const int64_t *key_start,
                const uint8_t *is_text, int64_t nfields, int64_t cap,
                int32_t *starts, int32_t *ends, uint8_t *kinds, int64_t *sizes,
                int32_t *bounds, uint8_t *unknown, int64_t *error) {
    if (!special_ready)
        init_special();
    uint8_t stack[MAX_DEPTH];
    int64_t count = 0;
    int64_t hl = (int64_t)strlen(HEAD);
    memset(sizes, 0, (size_t)nfields * sizeof(int64_t));
#define FAIL(pos) do { *error = (pos); return count; } while (0)
    int64_t i = ws(buf, 0, n);
    if (i >= n || buf[i] != '{')
        FAIL(i);
    i = ws(buf, i + 1, n);
    if (i + hl > n || memcmp(buf + i, HEAD, (size_t)hl) != 0)
        FAIL(i);
    i = ws(buf, i + hl, n);
    if (i >= n || buf[i] != ':')
        FAIL(i);
    i = ws(buf, i + 1, n);
    if (i >= n || buf[i] != '[')
        FAIL(i);
    stack[0] = '[';
    int depth = 1;
    int state = S_VALUE_OR_CLOSE;
    i++;
    int64_t field = -1; /* the top-level field whose value is being read (-1: not kept) */
    int64_t vstart = 0; /* where that value starts */
    uint8_t vchar = 0;  /* its first byte */
    int vslow = 0;      /* a string value with escapes or non-ASCII bytes */
    for (;;) {
        if (i >= n)
            FAIL(i);
        uint8_t c = buf[i];
        int done = 0; /* a value ended at this depth */
        if (c == '"') {
            int64_t u = i + 1;
            int slow = 0;
#if defined(__SSE2__)
            const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
            const __m128i ctl = _mm_set1_epi8(0x1F), zero = _mm_setzero_si128();
            while (u + 16 <= n) {
                __m128i v = _mm_loadu_si128((const __m128i *)(buf + u));
                __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                           _mm_cmpeq_epi8(_mm_subs_epu8(v, ctl), zero)); /* v <= 0x1F */
                int mask = _mm_movemask_epi8(hit) | _mm_movemask_epi8(v);             /* | v >= 0x80 */
                if (mask) {
                    u += __builtin_ctz((unsigned)mask);
                    break;
                }
                u += 16;
            }
#endif
            while (u < n) {
                uint8_t t = SPECIAL[buf[u]];
                if (t) {
                    slow = t == 2;
                    break;
                }
                u++;
            }
            int64_t j = u;
            if (slow) {
                j = string_checked(buf, i, n);
                if (j < 0)
                    FAIL(i);
            } else if (j >= n) {
                FAIL(i);
            } else {
                j++;
            }
            if (state == S_KEY_OR_CLOSE || state == S_KEY) {
                if (depth == 2) { /* a top-level key of a record */
                    if (slow)     /* escaped or non-ASCII key: msgspec reads this file */
                        FAIL(i);
                    int64_t s = i + 1, e = j - 1;
                    field = -1;
                    if (e > s) {
                        int64_t m = e - s;
                        int64_t slot = (m * 31 + buf[s] * 7 + buf[e - 1] * 131 + buf[s + m / 2] * 17) & TABLE_MASK;
                        for (;;) {
                            int32_t f = table[slot];
                            if (f < 0)
                                break;
                            int64_t ks = key_start[f];
                            if (key_start[f + 1] - ks == m && memcmp(key_bytes + ks, buf + s, (size_t)m) == 0) {
                                field = f;
                                break;
                            }
                            slot = (slot + 1) & TABLE_MASK;
                        }
                    }
                    if (field < 0)
                        unknown[count] = 1;
                }
                state = S_COLON;
                i = j;
                continue;
            }
            if (state != S_VALUE && state != S_VALUE_OR_CLOSE)
                FAIL(i);
            if (depth == 2) {
                vstart = i;
                vchar = '"';
                vslow = slow;
            }
            i = j;
            done = 1;
        } else if (c == ':') {
            if (state != S_COLON)
                FAIL(i);
            state = S_VALUE;
            i++;
            continue;
        } else if (c == ',') {
            if (state != S_COMMA_OR_CLOSE)
                FAIL(i);
            state = stack[depth - 1] == '{' ? S_KEY : S_VALUE;
            i++;
            continue;
        } else if (c == '{' || c == '[') {
            if (state != S_VALUE && state != S_VALUE_OR_CLOSE)
                FAIL(i);
            if (depth == 1) { /* a record starts */
                if (c != '{')
                    FAIL(i);
                if (count == cap) {
                    *error = FULL;
                    return count;
                }
                memset(kinds + count * nfields, ABSENT, (size_t)nfields);
                unknown[count] = 0;
                bounds[count * 2] = (int32_t)i;
            } else if (depth == 2) {
                vstart = i;
                vchar = c;
            }
            if (depth >= MAX_DEPTH)
                FAIL(i);
            stack[depth++] = c;
            state = c == '{' ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE;
            i++;
            continue;
        } else if (c == '}' || c == ']') {
            uint8_t top = stack[depth - 1];
            if (c == '}') {
                if (top != '{' || (state != S_KEY_OR_CLOSE && state != S_COMMA_OR_CLOSE))
                    FAIL(i);
            } else if (top != '[' || (state != S_VALUE_OR_CLOSE && state != S_COMMA_OR_CLOSE)) {
                FAIL(i);
            }
            depth--;
            i++;
            if (depth == 0) /* the end of the Records array */
                break;
            if (depth == 1) { /* the end of a record */
                bounds[count * 2 + 1] = (int32_t)i;
                count++;
                state = S_COMMA_OR_CLOSE;
                continue;
            }
            done = 1;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            i++;
            continue;
        } else { /* number, true, false, null */
            if (state != S_VALUE && state != S_VALUE_OR_CLOSE)
                FAIL(i);
            if (depth == 1) /* a record that is not an object */
                FAIL(i);
            int64_t j = (c == 't' || c == 'f' || c == 'n') ? word_end(buf, i, n) : number_end(buf, i, n);
            if (j < 0)
                FAIL(i);
            if (depth == 2) {
                vstart = i;
                vchar = c;
            }
            i = j;
            done = 1;
        }
        if (done) {
            state = S_COMMA_OR_CLOSE;
            if (depth == 2 && field >= 0) { /* a top-level value we keep ended */
                if (is_text[field] && vchar != '"' && vchar != 'n') /* text that is not a string */
                    FAIL(vstart);
                int64_t at = count * nfields + field;
                starts[at] = (int32_t)vstart;
                ends[at] = (int32_t)i;
                uint8_t kind;
                switch (vchar) {
                case '"': kind = vslow ? STRING_ESC : STRING; break;
                case 'n': kind = KNULL; break;
                case '{': kind = OBJECT; break;
                case '[': kind = ARRAY; break;
                case 't': kind = KTRUE; break;
                case 'f': kind = KFALSE; break;
                default: kind = NUMBER;
                }
                kinds[at] = kind;
                if (kind != KNULL)
                    sizes[field] += i - vstart;
                field = -1;
            }
        }
    }
    /* the tail: } */
    i = ws(buf, i, n);
    if (i >= n || buf[i] != '}') /* another top-level key, or no closing brace */
        FAIL(i);
    i = ws(buf, i + 1, n);
    if (i != n)
        FAIL(i);
    *error = -1;
    return count;
#undef FAIL
}

/* memcpy for the short values that are most of a log (ids, names, regions), without a call:
 * two overlapping loads and stores cover any length from 4 to 32 bytes */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, int64_t n) {
    if (n > 32) {
        memcpy(dst, src, (size_t)n);
    } else if (n >= 16) {
        uint64_t a[2], b[2];
        memcpy(a, src, 16);
        memcpy(b, src + n - 16, 16);
        memcpy(dst, a, 16);
        memcpy(dst + n - 16, b, 16);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else {
        for (int64_t k = 0; k < n; k++)
            dst[k] = src[k];
    }
}

/* copy the JSON string body b[s:e] to out unescaped (escapes already checked); returns bytes written */
static int64_t unescape(const uint8_t *b, int64_t s, int64_t e, uint8_t *out) {
    int64_t o = 0, i = s;
    while (i < e) {
        const uint8_t *next = memchr(b + i, '\\', (size_t)(e - i));
        int64_t stop = next ? next - b : e;
        memcpy(out + o, b + i, (size_t)(stop - i));
        o += stop - i;
        i = stop;
        if (i >= e)
            break;
        uint8_t x = b[i + 1];
        if (x != 'u') {
            uint8_t c;
            switch (x) {
            case 'b': c = 8; break;
            case 'f': c = 12; break;
            case 'n': c = 10; break;
            case 'r': c = 13; break;
            case 't': c = 9; break;
            default: c = x; /* " \ / */
            }
            out[o++] = c;
            i += 2;
            continue;
        }
        int32_t v = hex4(b, i + 2, e);
        i += 6;
        if (v >= 0xD800 && v <= 0xDBFF) {
            int32_t w = hex4(b, i + 2, e);
            v = 0x10000 + ((v - 0xD800) << 10) + (w - 0xDC00);
            i += 6;
        }
        if (v < 0x80) {
            out[o++] = (uint8_t)v;
        } else if (v < 0x800) {
            out[o++] = (uint8_t)(0xC0 | (v >> 6));
            out[o++] = (uint8_t)(0x80 | (v & 0x3F));
        } else if (v < 0x10000) {
            out[o++] = (uint8_t)(0xE0 | (v >> 12));
            out[o++] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
            out[o++] = (uint8_t)(0x80 | (v & 0x3F));
        } else {
            out[o++] = (uint8_t)(0xF0 | (v >> 18));
            out[o++] = (uint8_t)(0x80 | ((v >> 12) & 0x3F));
            out[o++] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
            out[o++] = (uint8_t)(0x80 | (v & 0x3F));
        }
    }
    return o;
}

/* YYYY-MM-DDTHH:MM:SSZ in b[s:e] -> microseconds since 1970 UTC, or -1 (see _scan.py) */
static int64_t trail_time(const uint8_t *b, int64_t s, int64_t e) {
    static const int pos[6] = {0, 5, 8, 11, 14, 17}, width[6] = {4, 2, 2, 2, 2, 2};
    if (e - s != 20 || b[s + 4] != '-' || b[s + 7] != '-' || b[s + 10] != 'T' || b[s + 13] != ':' ||
        b[s + 16] != ':' || b[s + 19] != 'Z')
        return -1;
    int64_t v[6];
    for (int k = 0; k < 6; k++) {
        int64_t x = 0;
        for (int d = 0; d < width[k]; d++) {
            uint8_t c = b[s + pos[k] + d];
            if (c < '0' || c > '9')
                return -1;
            x = x * 10 + (c - '0');
        }
        v[k] = x;
    }
    int64_t y = v[0], m = v[1], d = v[2], hh = v[3], mm = v[4], ss = v[5];
    if (m < 1 || m > 12 || d < 1 || hh > 23 || mm > 59 || ss > 59)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > mdays[m - 1] + (m == 2 && leap))
        return -1;
    /* days from the civil date, as in H. Hinnant's days_from_civil (floor division: y may be -1) */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return (((days * 24 + hh) * 60 + mm) * 60 + ss) * 1000000;
}

/* Copy one file's values into the columns' buffers, rows row0 onwards. datas[f] is field f's
 * byte buffer and cursor[f] where its next value goes; offsets is (nfields, total + 1) and
 * valid (nfields, total), row-major; tf is the field also parsed into times (or -1). */
void tk_fill(const uint8_t *buf, int64_t nrec, int64_t nfields,
             const int32_t *starts, const int32_t *ends, const uint8_t *kinds, const uint8_t *is_text,
             uint8_t *const *datas, int64_t *cursor, int64_t *offsets, uint8_t *valid, int64_t *nulls,
             int64_t total, int64_t row0, int64_t tf, int64_t *times) {
    /* field by field: each pass writes one column's buffers, reading a file that stays in cache */
    for (int64_t f = 0; f < nfields; f++) {
        uint8_t *out = datas[f];
        int64_t o = cursor[f];
        int64_t *offs = offsets + f * (total + 1);
        uint8_t *val = valid + f * total;
        int text = is_text[f];
        int64_t missing = 0;
        for (int64_t r = 0; r < nrec; r++) {
            int64_t row = row0 + r;
            int64_t at = r * nfields + f;
            uint8_t kind = kinds[at];
            int ok;
            if (text) { /* a string's body, without its quotes */
                ok = kind == STRING || kind == STRING_ESC;
                if (kind == STRING_ESC) {
                    o += unescape(buf, starts[at] + 1, ends[at] - 1, out + o);
                } else if (ok) {
                    copy_bytes(out + o, buf + starts[at] + 1, ends[at] - starts[at] - 2);
                    o += ends[at] - starts[at] - 2;
                }
            } else { /* the value's exact JSON text */
                ok = kind != ABSENT && kind != KNULL;
                if (ok) {
                    copy_bytes(out + o, buf + starts[at], ends[at] - starts[at]);
                    o += ends[at] - starts[at];
                }
            }
            if (f == tf)
                times[row] = kind == STRING ? trail_time(buf, starts[at] + 1, ends[at] - 1) : -1;
            missing += !ok;
            val[row] = (uint8_t)ok;
            offs[row + 1] = o;
        }
        cursor[f] = o;
        nulls[f] += missing;
    }
}
