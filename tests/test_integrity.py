"""Tests for trailkit.integrity: digest validation (validate-logs) and digest writing.

Checked against the team's signed test vector (tests/data/digest-testvector, a test key, not
AWS) and against digest chains written here and then tampered with: every tamper case must be
reported exactly (which file, which status) and nothing else may change status.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.integrity import (
    IntegrityError,
    generate_test_key,
    load_public_keys,
    public_keys_document,
    string_to_sign,
    summarize_validation,
    validate_logs,
    validation_ok,
    write_digests,
)

DATA = Path(__file__).parent / "data" / "digest-testvector"
ACCT = "111122223333"


# ----------------------------------------------------------------------------- helpers


def statuses(report: pl.DataFrame, kind: str) -> dict[str, str]:
    """file name -> status for one kind of row."""
    part = report.filter(pl.col("kind") == kind)
    return {Path(loc).name: st for loc, st in part.select("location", "status").iter_rows()}


def rewrite_gz(path: Path, edit) -> None:
    content = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(edit(content), mtime=0))


def make_log_tree(
    root: Path,
    *,
    hours: int = 4,
    per_hour: int = 2,
    region: str = "eu-west-1",
    t0: datetime = datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
) -> list[Path]:
    """A small delivered-log tree: ``per_hour`` files an hour, each with two events."""
    files = []
    for h in range(hours):
        for k in range(per_hour):
            delivered = t0 + timedelta(hours=h, minutes=5 + 20 * k)
            recs = [
                {
                    "eventVersion": "1.08",
                    "eventTime": (delivered - timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "eventName": "ListBuckets",
                    "eventSource": "s3.amazonaws.com",
                    "awsRegion": region,
                    "sourceIPAddress": "198.51.100.7",
                    "eventID": f"id-{h}-{k}-{m}",
                    "userIdentity": {"type": "Root", "accountId": ACCT},
                }
                for m in (1, 3)
            ]
            name = f"{ACCT}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{'U' * 15}{h * per_hour + k:x}.json.gz"
            p = root / "AWSLogs" / ACCT / "CloudTrail" / region / f"{delivered:%Y/%m/%d}" / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0))
            files.append(p)
    return files


@pytest.fixture(scope="session")
def key_pem() -> bytes:
    return generate_test_key()


@pytest.fixture(scope="session")
def other_key_pem() -> bytes:
    return generate_test_key()


@pytest.fixture
def signed(tmp_path, key_pem):
    """A bucket copy with 4 hours of logs and 4 chained digests, plus its public keys."""
    root = tmp_path / "my-trail-bucket"
    logs = make_log_tree(root)
    written = write_digests(root, key_pem, trail_name="org-trail", home_region="eu-west-1")
    keys = public_keys_document(key_pem, region="eu-west-1")
    digests = sorted(Path(p) for p in written["path"])
    return root, logs, digests, keys


def digest_doc(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()))


def resign(path: Path, doc: dict, key_pem: bytes) -> str:
    """Rewrite a digest with ``doc`` and sign it with ``key_pem`` (an attacker's key)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    raw = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(raw, mtime=0))
    key = serialization.load_pem_private_key(key_pem, password=None)
    sig = key.sign(string_to_sign(doc, raw).encode(), padding.PKCS1v15(), hashes.SHA256()).hex()
    Path(str(path) + ".metadata.json").write_text(
        json.dumps({"signature": sig, "signature-algorithm": "SHA256withRSA"})
    )
    return sig


# ----------------------------------------------------------------------------- the test vector


def test_testvector_all_valid():
    report = validate_logs(DATA / "s3", public_keys=DATA / "list_public_keys.json")
    assert report.columns == list(trailkit.integrity.REPORT_SCHEMA)
    assert report.filter(pl.col("kind") == "digest")["status"].to_list() == ["valid", "valid"]
    assert report.filter(pl.col("kind") == "log")["status"].to_list() == ["valid", "valid"]
    assert validation_ok(report)
    summary = summarize_validation(report)
    assert "Results found for 2015-08-17T14:01:31Z to 2015-08-17T16:01:31Z:" in summary
    assert "2/2 digest files valid" in summary and "2/2 log files valid" in summary
    log = report.filter(pl.col("kind") == "log").row(0, named=True)
    assert log["s3_uri"].startswith(
        "s3://example-bucket/AWSLogs/111122223333/CloudTrail/us-east-2/"
    )
    assert (
        log["expected_sha256"]
        == log["actual_sha256"]
        == "6c33f9bf38199d765006736ad59a0e9f376628f60761006a2e6d8980014c31cf"
    )


def test_testvector_strings_to_sign():
    expected = json.loads((DATA / "strings_to_sign.json").read_text())
    digests = sorted((DATA / "s3").rglob("*CloudTrail-Digest_*.json.gz"))
    got = [
        string_to_sign(json.loads(gzip.decompress(p.read_bytes())), gzip.decompress(p.read_bytes()))
        for p in digests
    ]
    assert got == [expected["d1_string_to_sign"], expected["d2_string_to_sign"]]


def test_testvector_fingerprint_is_md5_of_der():
    keys = load_public_keys(DATA / "list_public_keys.json")
    assert "24a9efdd50f3dc31c3c81db26abf1e11" in {k.fingerprint for k in keys}


def test_testvector_one_byte_changed_in_a_log(tmp_path):
    copy = tmp_path / "tv"
    shutil.copytree(DATA / "s3", copy)
    log = next(copy.rglob("*_BBBBBBBBBBBBBBBB.json.gz"))
    rewrite_gz(log, lambda b: b.replace(b"15:25:00", b"15:25:01", 1))
    report = validate_logs(copy, public_keys=DATA / "list_public_keys.json")
    assert statuses(report, "log") == {
        log.name: "invalid",
        "111122223333_CloudTrail_us-east-2_20150817T1445Z_AAAAAAAAAAAAAAAA.json.gz": "valid",
    }
    bad = report.filter(pl.col("status") == "invalid").row(0, named=True)
    assert bad["detail"] == "hash value doesn't match"
    assert bad["expected_sha256"] != bad["actual_sha256"]
    assert set(statuses(report, "digest").values()) == {"valid"}
    assert not validation_ok(report)
    assert "1/2 log files valid, 1/2 log files INVALID" in summarize_validation(report)


def test_testvector_raw_byte_flip_is_invalid(tmp_path):
    copy = tmp_path / "tv"
    shutil.copytree(DATA / "s3", copy)
    log = next(copy.rglob("*_AAAAAAAAAAAAAAAA.json.gz"))
    raw = bytearray(log.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    log.write_bytes(bytes(raw))
    report = validate_logs(copy, public_keys=DATA / "list_public_keys.json")
    assert statuses(report, "log")[log.name] == "invalid"


def test_testvector_trailing_data_after_gzip(tmp_path):
    copy = tmp_path / "tv"
    shutil.copytree(DATA / "s3", copy)
    log = next(copy.rglob("*_AAAAAAAAAAAAAAAA.json.gz"))
    log.write_bytes(log.read_bytes() + b"extra")
    report = validate_logs(copy, public_keys=DATA / "list_public_keys.json")
    row = report.filter(pl.col("location") == str(log)).row(0, named=True)
    assert (
        row["status"] == "invalid"
        and "unexpected data after end of compressed stream" in row["detail"]
    )


def test_testvector_uncompressed_local_copy_still_validates(tmp_path):
    copy = tmp_path / "tv"
    shutil.copytree(DATA / "s3", copy)
    log = next(copy.rglob("*_AAAAAAAAAAAAAAAA.json.gz"))
    log.with_suffix("").write_bytes(gzip.decompress(log.read_bytes()))
    log.unlink()
    report = validate_logs(copy, public_keys=DATA / "list_public_keys.json")
    assert report.filter(pl.col("kind") == "log")["status"].to_list() == ["valid", "valid"]


# ----------------------------------------------------------------------------- our own chains


def test_written_chain_is_valid(signed):
    root, logs, digests, keys = signed
    assert len(digests) == 4
    first, second = digest_doc(digests[0]), digest_doc(digests[1])
    assert first["previousDigestSignature"] is None
    assert second["previousDigestS3Object"] == first["digestS3Object"]
    assert second["digestS3Bucket"] == "my-trail-bucket"
    assert (
        first["digestStartTime"] == "2026-03-10T09:00:00Z"
        and first["digestEndTime"] == "2026-03-10T10:00:00Z"
    )
    assert [e["s3Object"].rsplit("/", 1)[-1] for e in first["logFiles"]] == [
        p.name for p in logs[:2]
    ]
    assert first["oldestEventTime"] == "2026-03-10T09:02:00Z"
    report = validate_logs(root, public_keys=keys)
    assert report.filter(pl.col("kind") == "digest").height == 4
    assert report.filter(pl.col("kind") == "log").height == 8
    assert set(report["status"]) == {"valid"}
    assert "4/4 digest files valid\n8/8 log files valid" in summarize_validation(report)
    assert report.filter(pl.col("kind") == "digest")["trail"].unique().to_list() == ["org-trail"]


def test_tamper_one_byte_of_a_log(signed):
    root, logs, _digests, keys = signed
    target = logs[3]
    rewrite_gz(target, lambda b: b.replace(b"198.51.100.7", b"198.51.100.8", 1))
    report = validate_logs(root, public_keys=keys)
    st = statuses(report, "log")
    assert st.pop(target.name) == "invalid"
    assert set(st.values()) == {"valid"} and len(st) == 7
    assert set(statuses(report, "digest").values()) == {"valid"}


def test_tamper_delete_a_log(signed):
    root, logs, _digests, keys = signed
    target = logs[5]
    target.unlink()
    report = validate_logs(root, public_keys=keys)
    missing = report.filter(pl.col("status") == "missing")
    assert missing.height == 1
    row = missing.row(0, named=True)
    assert row["kind"] == "log" and row["detail"] == "not found"
    assert row["s3_uri"].endswith(target.name) and row["s3_uri"].startswith(
        "s3://my-trail-bucket/AWSLogs/"
    )
    assert report.filter(pl.col("status") == "valid").height == 4 + 7
    assert "7/8 log files valid, 1/8 log files MISSING" in summarize_validation(report)


def test_tamper_delete_a_digest_in_the_middle(signed):
    root, logs, digests, keys = signed
    target = digests[1]
    target.unlink()
    Path(str(target) + ".metadata.json").unlink()
    report = validate_logs(root, public_keys=keys)
    dig = report.filter(pl.col("kind") == "digest")
    assert dig.filter(pl.col("status") == "missing")["s3_uri"].to_list()[0].endswith(target.name)
    assert sorted(dig["status"].to_list()) == ["missing", "valid", "valid", "valid"]
    # the two log files only that digest listed are now covered by nothing
    st = statuses(report, "log")
    assert {n for n, s in st.items() if s == "not_covered"} == {logs[2].name, logs[3].name}
    assert sum(s == "valid" for s in st.values()) == 6
    assert not validation_ok(report)


def test_tamper_delete_the_starting_digest(signed):
    root, _logs, digests, keys = signed
    digests[0].unlink()
    report = validate_logs(root, public_keys=keys)
    dig = report.filter(pl.col("kind") == "digest")
    assert sorted(dig["status"].to_list()) == ["missing", "valid", "valid", "valid"]
    assert report.filter(pl.col("status") == "not_covered").height == 2


def test_tamper_delete_the_newest_digest(signed):
    root, logs, digests, keys = signed
    digests[-1].unlink()
    report = validate_logs(root, public_keys=keys)
    assert sorted(statuses(report, "digest").values()) == ["valid"] * 3
    nc = report.filter(pl.col("status") == "not_covered")
    assert sorted(Path(p).name for p in nc["location"]) == sorted(p.name for p in logs[6:])
    assert "newer than the newest digest" in nc["detail"][0]


def test_tamper_resign_with_wrong_key_same_fingerprint(signed, other_key_pem):
    """Drop a log file from the newest digest and re-sign it with a key CloudTrail never had."""
    root, logs, digests, keys = signed
    doc = digest_doc(digests[-1])
    doc["logFiles"] = doc["logFiles"][:1]
    resign(digests[-1], doc, other_key_pem)
    report = validate_logs(root, public_keys=keys)
    dig = statuses(report, "digest")
    assert dig.pop(digests[-1].name) == "invalid"
    assert set(dig.values()) == {"valid"}
    row = report.filter(pl.col("status") == "invalid").row(0, named=True)
    assert row["detail"] == "signature verification failed"
    st = statuses(report, "log")
    assert st[logs[6].name] == "unverified" and st[logs[7].name] == "not_covered"
    assert sum(s == "valid" for s in st.values()) == 6


def test_tamper_resign_with_wrong_key_own_fingerprint(signed, other_key_pem):
    root, _logs, digests, keys = signed
    doc = digest_doc(digests[-1])
    doc["digestPublicKeyFingerprint"] = load_public_keys(public_keys_document(other_key_pem))[
        0
    ].fingerprint
    resign(digests[-1], doc, other_key_pem)
    report = validate_logs(root, public_keys=keys)
    row = report.filter(pl.col("status") == "invalid").row(0, named=True)
    assert row["location"] == str(digests[-1])
    assert row["detail"].startswith("public key not found in region eu-west-1 for fingerprint ")


def test_tamper_resign_a_middle_digest_breaks_the_chain(signed, other_key_pem):
    """An attacker who re-signs an older digest (with any key) no longer matches the newer digest."""
    root, _logs, digests, keys = signed
    doc = digest_doc(digests[1])
    doc["logFiles"] = []
    resign(digests[1], doc, other_key_pem)
    report = validate_logs(root, public_keys=keys)
    dig = statuses(report, "digest")
    assert dig.pop(digests[1].name) == "invalid"
    assert set(dig.values()) == {"valid"}
    assert (
        "does not match previousDigestSignature"
        in report.filter(pl.col("status") == "invalid")["detail"][0]
    )


def test_tamper_digest_content_without_resigning(signed):
    root, _logs, digests, keys = signed
    doc = digest_doc(digests[-1])
    doc["logFiles"][0]["hashValue"] = "0" * 64
    digests[-1].write_bytes(gzip.compress(json.dumps(doc).encode()))
    report = validate_logs(root, public_keys=keys)
    assert statuses(report, "digest")[digests[-1].name] == "invalid"
    assert report.filter(pl.col("status") == "unverified").height == 2


def test_wrong_public_keys(signed, other_key_pem):
    root, _logs, _digests, _keys = signed
    report = validate_logs(root, public_keys=public_keys_document(other_key_pem))
    assert set(statuses(report, "digest").values()) == {"invalid"}
    assert set(statuses(report, "log").values()) == {"unverified"}
    assert "4/4 digest files INVALID" in summarize_validation(report)


def test_key_of_another_region_is_not_used(signed, key_pem):
    root, *_ = signed
    report = validate_logs(root, public_keys={"us-east-1": key_pem})
    assert set(statuses(report, "digest").values()) == {"invalid"}
    report = validate_logs(root, public_keys={"eu-west-1": key_pem})
    assert set(report["status"]) == {"valid"}


@pytest.mark.parametrize("form", ["pem", "spki_der", "pkcs1_der", "private", "file", "list"])
def test_public_key_forms(signed, key_pem, tmp_path, form):
    from cryptography.hazmat.primitives import serialization

    root, *_ = signed
    pub = serialization.load_pem_private_key(key_pem, password=None).public_key()
    forms = {
        "pem": pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "spki_der": pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pkcs1_der": pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
        "private": key_pem,
    }
    if form == "file":
        path = tmp_path / "keys.json"
        path.write_text(json.dumps(public_keys_document(pub)))
        value = str(path)
    elif form == "list":
        der = forms["pkcs1_der"]
        value = [{"Value": der, "Fingerprint": "0" * 32}]  # boto3 shape: raw bytes
    else:
        value = forms[form]
    report = validate_logs(root, public_keys=value)
    assert set(report["status"]) == {"valid"}


def test_spki_fingerprint_is_accepted():
    """One AWS doc example lists a SubjectPublicKeyInfo key whose fingerprint is MD5 of those bytes."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    pem = generate_test_key()
    pub = serialization.load_pem_private_key(pem, password=None).public_key()
    spki = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keys = load_public_keys({"PublicKeyList": [{"Value": base64.b64encode(spki).decode()}]})
    assert hashlib.md5(spki).hexdigest() in {k.fingerprint for k in keys}


def test_gaps_are_reported(tmp_path, key_pem):
    root = tmp_path / "b"
    make_log_tree(root, hours=6, per_hour=1)
    # logging "stopped" from 11:10 to 12:50: no logs and no digests for hours 11 and 12
    for p in root.rglob("*_20260310T11*.json.gz"):
        p.unlink()
    for p in root.rglob("*_20260310T12*.json.gz"):
        p.unlink()
    written = write_digests(root, key_pem, gaps=[("2026-03-10T11:10:00Z", "2026-03-10T12:50:00Z")])
    assert written["starts_chain"].to_list() == [True, False, True, False]
    report = validate_logs(root, public_keys=public_keys_document(key_pem))
    gaps = report.filter(pl.col("kind") == "gap")
    assert gaps.height == 1
    g = gaps.row(0, named=True)
    assert g["start_time"] == datetime(2026, 3, 10, 11, tzinfo=UTC)
    assert g["end_time"] == datetime(2026, 3, 10, 13, tzinfo=UTC)
    assert (
        "No log files were delivered by CloudTrail between 2026-03-10T11:00:00Z and 2026-03-10T13:00:00Z"
        in g["detail"]
    )
    assert set(report.filter(pl.col("kind") != "gap")["status"]) == {"valid"}
    assert validation_ok(report) and not validation_ok(report, strict=True)
    assert "1 gap in the digest chain" in summarize_validation(report)


def test_log_added_after_the_fact_is_not_covered(signed):
    root, logs, _digests, keys = signed
    extra = logs[2].with_name(logs[2].name.replace("UUUUUUUUUUUUUUU2", "ZZZZZZZZZZZZZZZZ"))
    shutil.copy(logs[2], extra)
    report = validate_logs(root, public_keys=keys)
    assert statuses(report, "log")[extra.name] == "not_covered"
    assert validation_ok(report) and not validation_ok(report, strict=True)
    assert "1/9 log files NOT COVERED by any digest" in summarize_validation(report)


def test_empty_hours_get_digests(tmp_path, key_pem):
    root = tmp_path / "b"
    make_log_tree(root, hours=3, per_hour=1)
    for p in root.rglob("*_20260310T10*.json.gz"):
        p.unlink()
    written = write_digests(root, key_pem)
    assert written["log_files"].to_list() == [1, 0, 1]
    doc = digest_doc(Path(written["path"][1]))
    assert doc["logFiles"] == [] and doc["newestEventTime"] is None
    assert set(validate_logs(root, public_keys=public_keys_document(key_pem))["status"]) == {
        "valid"
    }


def test_moved_digest_is_invalid(signed):
    root, _logs, digests, keys = signed
    other = digests[-1].parent.parent / "09" / digests[-1].name
    other.parent.mkdir(parents=True)
    shutil.move(digests[-1], other)
    shutil.move(str(digests[-1]) + ".metadata.json", str(other) + ".metadata.json")
    report = validate_logs(root, public_keys=keys)
    row = report.filter(pl.col("location") == str(other)).row(0, named=True)
    assert row["status"] == "invalid" and "moved from its original location" in row["detail"]


def test_signature_from_the_chain_when_metadata_is_lost(signed):
    """Offline copies without S3 metadata: older digests are verified through the chain."""
    root, _logs, digests, keys = signed
    for d in digests:
        Path(str(d) + ".metadata.json").unlink()
    report = validate_logs(root, public_keys=keys)
    dig = statuses(report, "digest")
    assert dig.pop(digests[-1].name) == "unverified"  # the newest one's signature only lives in S3
    assert set(dig.values()) == {"valid"}
    assert not validation_ok(report)


def test_window(signed):
    root, _logs, _digests, keys = signed
    report = validate_logs(
        root, public_keys=keys, start="2026-03-10T11:30:00Z", end="2026-03-10T11:45:00Z"
    )
    dig = report.filter(pl.col("kind") == "digest")
    assert dig["end_time"].to_list() == [datetime(2026, 3, 10, 12, tzinfo=UTC)]
    assert set(report["status"]) == {"valid"}  # no "missing" for digests before the window
    with pytest.raises(trailkit.InputError, match="after end"):
        validate_logs(root, public_keys=keys, start="2026-03-11", end="2026-03-10")


def test_prefix_and_bucket_and_copy_location(tmp_path, key_pem):
    """Digests name the S3 bucket/prefix; the local copy may live anywhere above AWSLogs/."""
    root = tmp_path / "somewhere" / "copy"
    make_log_tree(root, hours=2)
    write_digests(root, key_pem, bucket="real-bucket", prefix="org/trails")
    doc = digest_doc(next(root.rglob("*CloudTrail-Digest_*.json.gz")))
    assert doc["digestS3Bucket"] == "real-bucket" and doc["digestS3Object"].startswith(
        "org/trails/AWSLogs/"
    )
    report = validate_logs(tmp_path, public_keys=public_keys_document(key_pem))
    assert set(report["status"]) == {"valid"}
    assert report.filter(pl.col("kind") == "log")["s3_uri"][0].startswith(
        "s3://real-bucket/org/trails/AWSLogs/"
    )


def test_two_regions_two_chains(tmp_path, key_pem):
    root = tmp_path / "b"
    make_log_tree(root, hours=2, region="eu-west-1")
    make_log_tree(root, hours=3, region="us-east-1")
    written = write_digests(root, key_pem)
    assert sorted(written.group_by("region").len().iter_rows()) == [
        ("eu-west-1", 2),
        ("us-east-1", 3),
    ]
    report = validate_logs(root, public_keys=public_keys_document(key_pem))
    assert (
        set(report["status"]) == {"valid"} and report.filter(pl.col("kind") == "log").height == 10
    )


def test_key_cache_used_when_no_keys_given(signed, tmp_path, monkeypatch):
    root, _logs, _digests, keys = signed
    monkeypatch.setenv("TRAILKIT_CACHE_DIR", str(tmp_path / "cache"))
    cache = trailkit.integrity.default_key_cache()
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps(keys))
    assert set(validate_logs(root)["status"]) == {"valid"}


def test_no_keys_and_no_way_to_fetch(signed, tmp_path, monkeypatch):
    root, *_ = signed
    monkeypatch.setenv("TRAILKIT_CACHE_DIR", str(tmp_path / "empty-cache"))

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(trailkit.integrity, "fetch_public_keys", offline)
    with pytest.raises(IntegrityError, match="Pass public_keys="):
        validate_logs(root)


def test_nothing_to_validate(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(IntegrityError, match="no CloudTrail digest or log files"):
        validate_logs(tmp_path / "empty", public_keys=DATA / "list_public_keys.json")
    with pytest.raises(IntegrityError, match="no such file"):
        validate_logs(tmp_path / "nope", public_keys=DATA / "list_public_keys.json")


def test_bad_public_keys_argument(signed):
    root, *_ = signed
    with pytest.raises(IntegrityError, match="not a region name"):
        validate_logs(root, public_keys={"hello": "x"})
    with pytest.raises(IntegrityError):
        validate_logs(root, public_keys=b"not a key")


def test_write_digests_input_errors(tmp_path, key_pem):
    with pytest.raises(trailkit.InputError, match="not a folder"):
        write_digests(tmp_path / "nope", key_pem)
    (tmp_path / "e").mkdir()
    with pytest.raises(trailkit.InputError, match="no CloudTrail log files"):
        write_digests(tmp_path / "e", key_pem)
    make_log_tree(tmp_path / "l", hours=1)
    with pytest.raises(trailkit.InputError, match="gaps"):
        write_digests(tmp_path / "l", key_pem, gaps=["2026-03-10"])
    with pytest.raises(trailkit.InputError, match="private key"):
        write_digests(
            tmp_path / "l", b"-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n"
        )


def test_rewriting_replaces_old_digests(signed, key_pem):
    root, _logs, digests, keys = signed
    write_digests(root, key_pem, trail_name="org-trail", home_region="eu-west-1")
    assert sorted(root.rglob("*CloudTrail-Digest_*.json.gz")) == digests
    assert set(validate_logs(root, public_keys=keys)["status"]) == {"valid"}


# ----------------------------------------------------------------------------- S3 (moto) and the CLI


def upload(s3, root: Path, bucket: str) -> None:
    s3.create_bucket(Bucket=bucket)
    for p in root.rglob("*"):
        if p.is_file() and not p.name.endswith(".metadata.json"):
            side = Path(str(p) + ".metadata.json")
            meta = json.loads(side.read_text()) if side.exists() else {}
            s3.put_object(
                Bucket=bucket,
                Key=p.relative_to(root).as_posix(),
                Body=p.read_bytes(),
                Metadata=meta,
            )


def test_validate_in_s3(aws_session, moto_reset):
    s3 = aws_session.client("s3")
    upload(s3, DATA / "s3" / "example-bucket", "example-bucket")
    report = validate_logs(
        "s3://example-bucket", public_keys=DATA / "list_public_keys.json", session=aws_session
    )
    assert report.filter(pl.col("kind") == "digest")["status"].to_list() == ["valid", "valid"]
    assert set(report["status"]) == {"valid"}
    assert report["location"][0].startswith(
        "s3://example-bucket/AWSLogs/111122223333/CloudTrail-Digest/"
    )
    # tamper in the bucket: one byte of a log file, and drop the newest digest's signature
    key = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1530Z_BBBBBBBBBBBBBBBB.json.gz"
    body = gzip.decompress(s3.get_object(Bucket="example-bucket", Key=key)["Body"].read())
    s3.put_object(
        Bucket="example-bucket", Key=key, Body=gzip.compress(body.replace(b"15:25", b"15:26", 1))
    )
    report = validate_logs(
        "s3://example-bucket/AWSLogs/",
        public_keys=DATA / "list_public_keys.json",
        session=aws_session,
    )
    bad = report.filter(pl.col("status") != "valid")
    assert bad.select("kind", "status", "location").rows() == [
        ("log", "invalid", f"s3://example-bucket/{key}")
    ]


def test_validate_in_s3_digest_prefix_only(aws_session, moto_reset):
    """Listing only CloudTrail-Digest/ still finds the log files the digests name."""
    s3 = aws_session.client("s3")
    upload(s3, DATA / "s3" / "example-bucket", "example-bucket")
    report = validate_logs(
        "s3://example-bucket/AWSLogs/111122223333/CloudTrail-Digest/",
        public_keys=DATA / "list_public_keys.json",
        session=aws_session,
    )
    assert report.filter(pl.col("kind") == "log")["status"].to_list() == ["valid", "valid"]


def test_cli_validate(tmp_path, capsys, key_pem):
    from trailkit.cli import main

    keys = str(DATA / "list_public_keys.json")
    assert main(["validate", str(DATA / "s3"), "--public-keys", keys]) == 0
    out = capsys.readouterr().out
    assert "2/2 digest files valid" in out and "2/2 log files valid" in out

    copy = tmp_path / "tv"
    shutil.copytree(DATA / "s3", copy)
    log = next(copy.rglob("*_BBBBBBBBBBBBBBBB.json.gz"))
    log.unlink()
    csv = tmp_path / "report.csv"
    assert main(["validate", str(copy), "--public-keys", keys, "--csv", str(csv)]) == 1
    captured = capsys.readouterr()
    assert (
        f"Log file\ts3://example-bucket/AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/{log.name}\tMISSING: not found"
        in captured.err
    )
    assert "1/2 log files valid, 1/2 log files MISSING" in captured.out
    assert pl.read_csv(csv).height == 4

    # log files that no digest lists only fail with --strict
    shutil.copytree(DATA / "s3", tmp_path / "tv2")
    make_log_tree(tmp_path / "tv2" / "example-bucket", hours=1, region="us-east-2")
    assert main(["validate", str(tmp_path / "tv2"), "--public-keys", keys]) == 0
    assert main(["validate", str(tmp_path / "tv2"), "--public-keys", keys, "--strict"]) == 1
    assert "NOT COVERED" in capsys.readouterr().err
    # no such folder: an input error, exit 2
    assert main(["validate", str(tmp_path / "nothing-here"), "--public-keys", keys]) == 2


# ----------------------------------------------------------------------------- notebook 05

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05-can-we-trust-these-logs.ipynb"


def run_notebook(path: Path, tmp_path: Path, monkeypatch, **params) -> str:
    """Execute a notebook headless (parameters overridden after the parameters cell); all output text."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("TRAILKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TRAILKIT_AWS_ENDPOINT_URL", raising=False)
    nb = nbformat.read(path, as_version=4)
    samples = path.parents[1] / "data" / "samples"
    if not (samples / "AWSLogs").is_dir():  # samples not generated in this checkout: make them
        from trailkit.samples import generate

        generate(tmp_path / "samples")
        params = {"LOGS": str(tmp_path / "samples"), **params}
    if params:
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        nb.cells.insert(
            at + 1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items()))
        )
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )


def check_stored_notebook(path: Path) -> None:
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", [])
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in code]
    # thin cells: no functions or classes defined in the notebook
    assert not any(
        line.lstrip().startswith(("def ", "class ")) for s in sources for line in s.splitlines()
    )


def test_notebook_05_stored_clean():
    check_stored_notebook(NOTEBOOK)


def test_notebook_05_runs(tmp_path, monkeypatch):
    text = run_notebook(NOTEBOOK, tmp_path, monkeypatch)
    import re

    clean = re.search(r"(\d+)/(\d+) digest files valid\n(\d+)/(\d+) log files valid\n", text)
    assert clean and clean[1] == clean[2] and clean[3] == clean[4], text[:2000]
    n_logs = int(clean[4])
    assert (
        f"{n_logs - 2}/{n_logs} log files valid, 1/{n_logs} log files INVALID, 1/{n_logs} log files MISSING"
        in text
    )
    assert "hash value" in text and "not found" in text
    assert "the log now says the call came from 10.0.0.1" in text
    assert f"0/{clean[2]} digest files valid, {clean[2]}/{clean[2]} digest files INVALID" in text
    assert "public key not found in region" in text
