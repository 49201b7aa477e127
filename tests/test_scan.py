"""The compiled scanner (trailkit._scan) against msgspec, the loader's reference decoder.

Whatever the scanner accepts must give exactly the stage-1 columns that msgspec gives; whatever
msgspec rejects the scanner must reject too (the loader then takes its careful path). Checked
on real records, on the bundled samples, on hand-made edge cases and on thousands of random
mutations of a real file — for both builds of the kernels, C and numba (every test here runs
once per build, through ``$TRAILKIT_SCANNER``).
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import msgspec
import numpy as np
import polars as pl
import pytest

from trailkit import _scan
from trailkit import load as L

ROOT = Path(__file__).resolve().parents[1]
SHARED_EXAMPLES = ROOT.parent / "shared" / "cloudtrail" / "examples"


@pytest.fixture(autouse=True, params=["c", "numba"])
def kernels(request, monkeypatch):
    """Run the test with one build of the scanner's kernels."""
    if request.param == "numba":
        pytest.importorskip("numba")
    elif _scan.c_library_path() is None:
        pytest.skip("the C scanner was not built here (see test_the_c_scanner_is_built_where_a_compiler_is)")
    monkeypatch.setenv("TRAILKIT_SCANNER", request.param)
    return request.param


def test_the_c_scanner_is_built_where_a_compiler_is(kernels):
    """The build is optional (no compiler: numba), so a silent build failure must show here."""
    import shutil
    import sysconfig

    if kernels != "c" and shutil.which(sysconfig.get_config_var("CC").split()[0] or "cc"):
        assert _scan.c_library_path() is not None, "pip install -e . should have compiled trailkit/_scanc.c"
    assert _scan.kernels().name == kernels


@pytest.fixture(scope="module")
def spec():
    return _scan.FieldSpec([*L._STR_FIELDS, *L._RAW_TEXT],
                           [True] * len(L._STR_FIELDS) + [False] * len(L._RAW_TEXT), time="eventTime")


def reference(data: bytes) -> pl.DataFrame | None:
    """msgspec's stage-1 frame for a delivered file, or None when msgspec rejects it."""
    try:  # as the loader does (it also checks UTF-8: msgspec copies Raw blocks unchecked)
        records, unknown = L._decode_records(data, records_file=True)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    frame = L._stage1_frame(records)
    return frame.with_columns(L.parse_utc(pl.col("eventTime"), full=False).alias("_time_us"),
                              pl.Series("_unknown", unknown or [None] * frame.height, dtype=pl.String))


def scanned(data: bytes, spec) -> pl.DataFrame | None:
    found = _scan.scan(np.frombuffer(data, np.uint8), spec)
    if found.error >= 0:
        return None
    L._import_scanner()
    chunk = L._Chunk(L.LogFile("x.json", len(data), 0), data=data, scanned=found, count=found.count)
    return L._scanned_frame([chunk])


def agree(data: bytes, spec) -> str:
    """'both' (same frame), 'rejected' (both refuse) or 'fallback' (only msgspec reads it)."""
    ref, got = reference(data), scanned(data, spec)
    if got is None:
        return "rejected" if ref is None else "fallback"
    assert ref is not None, f"the scanner accepted what msgspec rejects: {data[:200]!r}"
    assert got.columns == ref.columns
    for name in ref.columns:
        if name == "_time_us":  # stricter than polars' %m/%d: a null sends the loader to polars
            pairs = zip(got[name].to_list(), ref[name].to_list(), ref["eventTime"].to_list(), strict=True)
            assert all(g == r or (g is None and len(t) != 20) for g, r, t in pairs), ref["eventTime"].to_list()
            continue
        assert got[name].to_list() == ref[name].to_list(), name
    return "both"


def records_file(records: list, *, indent=None) -> bytes:
    return json.dumps({"Records": records}, indent=indent, ensure_ascii=False).encode()


def test_real_examples_give_the_same_columns_as_msgspec(spec):
    # the project's copy of real records, plus the team's shared examples when they are there
    files = sorted((ROOT / "tests" / "data" / "corpus").rglob("*.json"))
    files += sorted(SHARED_EXAMPLES.rglob("*.json")) if SHARED_EXAMPLES.is_dir() else []
    records = []
    for f in files:
        try:
            value = json.loads(f.read_text())
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("Records"), list):
            records += [r for r in value["Records"] if isinstance(r, dict)]
        elif isinstance(value, dict) and "eventVersion" in value:
            records.append(value)
    real = len(records)
    records += [json.loads(gzip.decompress(p.read_bytes()))["Records"][0]
                for p in sorted((ROOT / "data" / "samples").rglob("*_CloudTrail_*.json.gz"))[:50]]
    assert real >= 15 and len(records) >= real + 50
    assert agree(records_file(records), spec) == "both"
    assert agree(records_file(records, indent=2), spec) == "both"  # pretty-printed too


def test_every_bundled_sample_file_matches(spec):
    files = [p for p in sorted((ROOT / "data" / "samples").rglob("*.json.gz")) if "Digest" not in p.name]
    assert len(files) > 1000
    outcomes = {agree(gzip.decompress(p.read_bytes()), spec) for p in files[::7]}
    assert outcomes == {"both"}


@pytest.mark.parametrize("text", [
    "plain", "", "é and 日本 and 🙂", "quote \" backslash \\ slash /", "tab\tnewline\ncr\r",
    "\u0000 \u001f control", "\U0001F600 grin (a surrogate pair when escaped)", "</script><img src=x onerror=alert(1)>",
])
def test_strings_and_escapes_decode_like_msgspec(spec, text):
    rec = {"eventTime": "2026-03-09T00:00:55Z", "eventName": text, "userAgent": text,
           "requestParameters": {"k": text, "n": [1.0, -0, 2e10, 1E-5]}, "userIdentity": {"type": "Root"}}
    for ascii_only in (True, False):
        data = json.dumps({"Records": [rec]}, ensure_ascii=ascii_only).encode()
        assert agree(data, spec) == "both"


@pytest.mark.parametrize("data,why", [
    (b'{"Records":[{"eventName":"\\ud800"}]}', "lone high surrogate"),
    (b'{"Records":[{"eventName":"\\udc00x"}]}', "lone low surrogate"),
    (b'{"Records":[{"eventName":"\\x"}]}', "bad escape"),
    (b'{"Records":[{"eventName":"\xff"}]}', "not UTF-8"),
    (b'{"Records":[{"eventName":"\xed\xa0\x80"}]}', "UTF-8 encoded surrogate"),
    (b'{"Records":[{"eventName":"\xc0\xaf"}]}', "overlong UTF-8"),
    (b'{"Records":[{"eventName":"a\nb"}]}', "raw newline in a string"),
    (b'{"Records":[{"requestParameters":{"a":01}}]}', "leading zero"),
    (b'{"Records":[{"requestParameters":{"a":1.}}]}', "bare decimal point"),
    (b'{"Records":[{"requestParameters":{"a":[1,]}}]}', "trailing comma"),
    (b'{"Records":[{"requestParameters":{"a" 1}}]}', "missing colon"),
    (b'{"Records":[{"requestParameters":{"a":1]}}]}', "mismatched bracket"),
    (b'{"Records":[{"requestParameters":{"a":tru}}]}', "bad literal"),
    (b'{"Records":[{"eventName":"x"}]} trailing', "text after the document"),
    (b'{"Records":[{"eventName":"x"}', "cut off"),
    (b'{"Records":[{"eventName":5}]}', "number for a text field"),
    (b'{"Records":[{"eventName":{"a":1}}]}', "object for a text field"),
    (b'{"Records":[5]}', "record that is not an object"),
    (b'{"Records":[{"eventName":"x"}],"more":1}', "another top-level key"),
])
def test_what_msgspec_rejects_the_scanner_rejects(spec, data, why):
    assert agree(data, spec) in ("rejected", "fallback"), why
    assert _scan.scan(np.frombuffer(data, np.uint8), spec).error >= 0, why


def test_other_layouts_are_left_to_msgspec(spec):
    for data in (b'[{"eventName":"x"}]', b'{"Events":[]}'):  # other formats: not the scanner's job
        assert _scan.scan(np.frombuffer(data, np.uint8), spec).error >= 0
    for data in (b'  {"Records" : [ ] }  ', b'{"Records":[{}]}'):
        assert agree(data, spec) == "both"
    escaped_key = b'{"Records":[{"event\\u004eame":"x"}]}'  # msgspec reads it; so does the loader
    assert agree(escaped_key, spec) == "fallback"


def test_columns_are_built_only_from_the_bytes_that_were_scanned(spec):
    data = records_file([{"eventID": "1", "eventName": "a", "requestParameters": {"k": "v" * 50}}])
    found = _scan.scan(np.frombuffer(data, np.uint8), spec)
    with pytest.raises(ValueError, match="not the ones that were scanned"):
        _scan.build_columns([data[:40]], [found], spec)  # shorter: the values would lie past its end
    copy = bytes(bytearray(data))  # the same bytes elsewhere in memory are fine
    columns = _scan.build_columns([copy], [found], spec)
    assert columns[spec.names.index("requestParameters")].to_pylist() == ['{"k": "' + "v" * 50 + '"}']


def test_duplicate_keys_and_null_blocks_match(spec):
    data = (b'{"Records":[{"eventName":"a","eventName":"b","requestParameters":null,'
            b'"responseElements":{},"resources":[],"readOnly":"true","managementEvent":false}]}')
    assert agree(data, spec) == "both"


@pytest.mark.parametrize("when", [
    "2026-03-09T00:00:55Z", "2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "1969-12-31T23:59:59Z",
    "2026-13-01T00:00:00Z", "2026-03-09T24:00:00Z", "2026-03-09 00:00:55Z", "2026-03-09T00:00:55.123Z",
    "2026-03-09T00:00:55+00:00", "", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-3-09T00:24:46Z",
])
def test_event_time_parse_matches_polars(spec, when, monkeypatch, tmp_path):
    data = json.dumps({"Records": [{"eventTime": when, "eventName": "x", "eventID": "1"}]}).encode()
    assert agree(data, spec) == "both"
    # and the loader ends with the same event_time either way
    (tmp_path / "a.json").write_bytes(data)
    monkeypatch.setattr(L, "_SCAN_MIN_BYTES", 0)
    fast = L.read_events(tmp_path, cache=False, on_error="ignore")["event_time"].to_list()
    monkeypatch.setattr(L, "_SCAN_MIN_BYTES", 1 << 62)
    assert fast == L.read_events(tmp_path, cache=False, on_error="ignore")["event_time"].to_list()


def test_random_mutations_never_make_the_scanner_disagree(spec):
    """Differential fuzzing: flip, drop or insert bytes in a real file; compare both readers."""
    sample = sorted((ROOT / "data" / "samples").rglob("*_CloudTrail_*.json.gz"))[3]
    raws = L._RAW_LIST.decode(L._ENVELOPE.decode(gzip.decompress(sample.read_bytes())).Records)
    base = b'{"Records":[' + b",".join(raws[:4]) + b"]}"  # four whole records, bytes as delivered
    assert agree(base, spec) == "both"
    rng = random.Random(20261122)
    alphabet = b'{}[]:,"\\0123456789.eE+-tfnul \n\xc3\xa9\xff\x00abc'
    counts = {"both": 0, "rejected": 0, "fallback": 0}
    for _ in range(3000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[pos] = rng.choice(alphabet)
            elif op < 0.7:
                del data[pos]
            else:
                data.insert(pos, rng.choice(alphabet))
        counts[agree(bytes(data), spec)] += 1
    assert counts["both"] > 300 and counts["rejected"] > 300, counts
    assert counts["fallback"] < 0.05 * sum(counts.values()), counts


def test_loader_gives_the_same_frame_with_and_without_the_scanner(monkeypatch, tmp_path):
    import trailkit

    samples = ROOT / "data" / "samples"
    monkeypatch.setattr(L, "_SCAN_MIN_BYTES", 0)
    with_scanner = trailkit.read_events(samples, cache=False, progress=False)
    monkeypatch.setattr(L, "_SCAN_MIN_BYTES", 1 << 62)
    without = trailkit.read_events(samples, cache=False, progress=False)
    assert with_scanner.height > 30_000
    assert with_scanner.equals(without)


def test_a_broken_scanner_falls_back_to_msgspec_with_a_warning(monkeypatch):
    import trailkit

    def broken():
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(L, "_scanner_module", False)  # not tried yet (restored afterwards)
    monkeypatch.setattr(_scan, "warm", broken)
    monkeypatch.setattr(L, "_SCAN_MIN_BYTES", 0)
    samples = ROOT / "data" / "samples" / "AWSLogs"
    with pytest.warns(RuntimeWarning, match="compiled scanner is unavailable"):
        df = trailkit.read_events(samples, cache=False, progress=False, regions=["eu-west-1"])
    assert df.height > 1000
    assert L._scanner_module is None
