"""Log-file integrity validation: what ``aws cloudtrail validate-logs`` does, offline too.

CloudTrail can prove that its log files were not changed, deleted or forged after delivery.
Once an hour it delivers a *digest file* per region (``CloudTrail-Digest/…``) that lists the
SHA-256 hash of every log file delivered in that hour, plus the hash and signature of the
previous digest, and it signs the digest with a private RSA key (SHA256withRSA) that only
CloudTrail holds. The signature travels in the digest object's S3 user metadata
(``x-amz-meta-signature``), and a copy of it is embedded in the *next* digest as
``previousDigestSignature``, so the digests form a chain: deleting or editing any one of
them breaks the chain.

:func:`validate_logs` checks all of this on local copies of a bucket (or on S3 directly):
it verifies each digest's signature with CloudTrail's public keys (``ListPublicKeys``),
walks the chain, hashes every log file and reports each file as ``valid``, ``invalid``,
``missing``, ``not_covered`` or ``unverified``, plus the gaps in the chain.
:func:`write_digests` does CloudTrail's side for a local log tree with a key of your own,
for tests, teaching and the sample data.

Examples
--------
>>> import trailkit
>>> report = trailkit.validate_logs("tests/data/digest-testvector/s3",
...     public_keys="tests/data/digest-testvector/list_public_keys.json")  # doctest: +SKIP
>>> print(trailkit.integrity.summarize_validation(report))  # doctest: +SKIP
Results found for 2015-08-17T14:01:31Z to 2015-08-17T16:01:31Z:
<BLANKLINE>
2/2 digest files valid
2/2 log files valid
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import polars as pl

from trailkit.errors import InputError
from trailkit.times import to_utc

if TYPE_CHECKING:  # pragma: no cover
    import boto3

__all__ = [
    "REPORT_SCHEMA",
    "IntegrityError",
    "fetch_public_keys",
    "generate_test_key",
    "load_public_keys",
    "public_keys_document",
    "read_digest",
    "sample_signing_key",
    "sign_samples",
    "string_to_sign",
    "summarize_validation",
    "validate_logs",
    "validation_ok",
    "write_digests",
]

SIGNATURE_ALGORITHM = "SHA256withRSA"
_TIME_FMT = "%Y-%m-%dT%H:%M:%SZ"
_UTC = pl.Datetime("us", "UTC")

_REGION_RE = r"[a-z]{2}(?:-[a-z]+)+-\d+"
#: ``[prefix/]AWSLogs/[o-org/]<acct>/CloudTrail-Digest/<region>/Y/M/D/<acct>_CloudTrail-Digest_<region>_<trail>_<home>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz``
DIGEST_KEY_RE = re.compile(
    r"(?:^|/)(?P<tail>AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/CloudTrail-Digest/"
    rf"(?P<region>{_REGION_RE})/\d{{4}}/\d{{2}}/\d{{2}}/(?P=account)_CloudTrail-Digest_(?P=region)_"
    rf"(?P<trail>.+)_(?P<home>{_REGION_RE})_(?P<ts>\d{{8}}T\d{{6}}Z)(?P<backfill>_backfill)?\.json\.gz)$"
)
#: ``[prefix/]AWSLogs/[o-org/]<acct>/CloudTrail/<region>/Y/M/D/<acct>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<unique>.json.gz``
LOG_KEY_RE = re.compile(
    r"(?:^|/)(?P<tail>AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/CloudTrail/"
    rf"(?P<region>{_REGION_RE})/(?P<y>\d{{4}})/(?P<m>\d{{2}})/(?P<d>\d{{2}})/(?P=account)_CloudTrail_(?P=region)_"
    r"(?P<ts>\d{8}T\d{4}Z)_(?P<uniq>[A-Za-z0-9]+)\.json(?P<gz>\.gz)?)$"
)

#: columns of the report :func:`validate_logs` returns
REPORT_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),  # digest | log | gap
    "status": pl.String(),  # valid | invalid | missing | not_covered | unverified | gap
    "detail": pl.String(),  # why, in aws-cli's words where it has some
    "location": pl.String(),  # the local path or s3:// URL read (expected one when missing)
    "s3_uri": pl.String(),  # where CloudTrail delivered it (from the digest), s3://bucket/key
    "digest": pl.String(),  # for log files: the digest that lists it
    "account_id": pl.String(),
    "region": pl.String(),
    "trail": pl.String(),
    "start_time": _UTC,  # digest/gap: start of the period; log: oldest event (per the digest)
    "end_time": _UTC,  # digest/gap: end of the period; log: newest event (per the digest)
    "expected_sha256": pl.String(),
    "actual_sha256": pl.String(),
}


class IntegrityError(InputError):
    """Validation cannot run: no public keys, nothing to validate, unusable key or source."""


# --------------------------------------------------------------------------------------------
# small helpers


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return to_utc(text, "time")
    except InputError:
        return None


def _key_time(ts: str) -> datetime:
    fmt = "%Y%m%dT%H%M%SZ" if len(ts) == 16 else "%Y%m%dT%H%MZ"
    return datetime.strptime(ts, fmt).replace(tzinfo=UTC)


def _fmt(t: datetime | None) -> str:
    return t.strftime(_TIME_FMT) if t else "?"


def _s3_uri(bucket: str | None, key: str | None) -> str | None:
    if not key:
        return None
    return f"s3://{bucket}/{key}" if bucket else key


def _tail(key: str) -> str | None:
    """The part of an S3 key from ``AWSLogs/`` on (what stays the same in local copies)."""
    i = key.rfind("AWSLogs/")
    if i < 0:
        return None
    if i and key[i - 1] != "/":
        return None
    return key[i:]


def _inflate(raw: bytes) -> bytes:
    """Uncompressed content of a CloudTrail object (gzip) or of a local uncompressed copy.

    Raises ValueError with aws-cli's wording for data that is not one whole gzip stream.
    """
    if raw[:2] != b"\x1f\x8b":
        return raw  # a local copy someone gunzipped; the hash is of the content anyway
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(raw) + d.flush()
    except zlib.error as exc:
        raise ValueError(f"invalid format: not valid gzip data ({exc})") from exc
    if not d.eof:
        raise ValueError("invalid format: the gzip stream is truncated")
    if d.unused_data:
        raise ValueError("unexpected data after end of compressed stream")
    return out


def string_to_sign(digest: Mapping[str, Any], uncompressed_digest: bytes) -> str:
    """The exact text CloudTrail signs for a digest (SPEC §4.3).

    ``digestEndTime``, ``bucket/key``, the hex SHA-256 of the uncompressed digest and the
    previous digest's signature (the word ``null`` for a starting digest), joined by ``\\n``.

    Examples
    --------
    >>> d = {"digestEndTime": "2015-08-17T15:01:31Z", "digestS3Bucket": "b",
    ...      "digestS3Object": "AWSLogs/k.json.gz", "previousDigestSignature": None}
    >>> string_to_sign(d, b"{}").splitlines()[:2]
    ['2015-08-17T15:01:31Z', 'b/AWSLogs/k.json.gz']
    >>> string_to_sign(d, b"{}").splitlines()[-1]
    'null'
    """
    prev = digest.get("previousDigestSignature")
    return (
        f"{digest.get('digestEndTime')}\n{digest.get('digestS3Bucket')}/{digest.get('digestS3Object')}\n"
        f"{hashlib.sha256(uncompressed_digest).hexdigest()}\n{'null' if prev is None else prev}"
    )


def read_digest(path: str | os.PathLike) -> dict[str, Any]:
    """A digest file's JSON (gunzipped), plus its S3 metadata under ``"_s3_metadata"`` when saved.

    >>> d = read_digest(next(Path("tests/data/digest-testvector").rglob("*T160131Z.json.gz")))
    >>> d["digestEndTime"], len(d["logFiles"]), d["_s3_metadata"]["signature-algorithm"]
    ('2015-08-17T16:01:31Z', 1, 'SHA256withRSA')
    """
    p = Path(path)
    try:
        doc = json.loads(_inflate(p.read_bytes()))
    except (OSError, ValueError) as exc:
        raise InputError(f"{p}: not a readable CloudTrail digest file ({exc}).") from exc
    side = Path(str(p) + ".metadata.json")
    if side.exists():
        doc["_s3_metadata"] = json.loads(side.read_text())
    return doc


# --------------------------------------------------------------------------------------------
# public keys


@dataclass(frozen=True)
class _Key:
    fingerprint: str
    key: Any  # cryptography RSAPublicKey
    region: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    source: str = ""


def _der_of(value: Any) -> bytes:
    if isinstance(value, memoryview | bytearray):
        value = bytes(value)
    if isinstance(value, bytes):
        return value  # DER, or PEM text (told apart when loading)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("-----BEGIN"):
            return text.encode()
        try:
            return base64.b64decode(text, validate=True)
        except ValueError as exc:
            raise IntegrityError(
                "a public key Value is neither base64 DER nor PEM text. Pass the output of "
                "`aws cloudtrail list-public-keys` or of trailkit.integrity.fetch_public_keys()."
            ) from exc
    raise IntegrityError(f"cannot use a {type(value).__name__} as a public key value.")


def _keys_from_bytes(
    data: bytes,
    *,
    region: str | None,
    fingerprint: str | None = None,
    valid_from: Any = None,
    valid_to: Any = None,
    source: str = "",
) -> list[_Key]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            if b"PRIVATE KEY" in data:
                key = serialization.load_pem_private_key(data, password=None).public_key()
            else:
                key = serialization.load_pem_public_key(data)
            der = None
        else:
            key = serialization.load_der_public_key(data)  # SubjectPublicKeyInfo or PKCS#1
            der = data
    except (ValueError, TypeError) as exc:
        raise IntegrityError(
            f"{source or 'public key'}: unable to load the key as PKCS #1 or SubjectPublicKeyInfo "
            f"DER/PEM ({exc}). Pass CloudTrail's ListPublicKeys output or a PEM public key."
        ) from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise IntegrityError(
            f"{source or 'public key'}: not an RSA key; CloudTrail signs with RSA."
        )
    # CloudTrail's fingerprint is the MD5 of the DER bytes it lists (PKCS #1); accept the MD5 of
    # the SubjectPublicKeyInfo encoding as well (one AWS example lists that form).
    encodings = {
        key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }
    if der is not None:
        encodings.add(der)
    prints = {hashlib.md5(d).hexdigest() for d in encodings}  # noqa: S324 - AWS's fingerprint
    if fingerprint:
        prints.add(str(fingerprint).lower())
    vf, vt = _parse_time_any(valid_from), _parse_time_any(valid_to)
    return [_Key(fp, key, region, vf, vt, source) for fp in sorted(prints)]


def _parse_time_any(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return to_utc(value, "time")
    return _parse_time(value)


def load_public_keys(public_keys: Any, *, region: str | None = None) -> list[_Key]:
    """Turn any accepted form of public keys into trailkit's key list.

    Accepted: a ``ListPublicKeys`` response (boto3 dict with DER bytes, or the CLI's JSON with
    base64 values; entries may carry a ``Region``), a path to such a JSON file or to a PEM/DER
    key (or a folder of them), PEM text or DER bytes (PKCS #1 or SubjectPublicKeyInfo), an
    RSA public/private key object, a list of any of these, or a mapping ``region -> keys``.

    Examples
    --------
    >>> from trailkit.integrity import generate_test_key, public_keys_document
    >>> doc = public_keys_document(generate_test_key(), region="us-east-1")
    >>> keys = load_public_keys(doc)
    >>> keys[0].region, len(keys[0].fingerprint)
    ('us-east-1', 32)
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    if public_keys is None:
        return []
    if isinstance(public_keys, rsa.RSAPrivateKey):
        public_keys = public_keys.public_key()
    if isinstance(public_keys, rsa.RSAPublicKey):
        from cryptography.hazmat.primitives import serialization

        der = public_keys.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        return _keys_from_bytes(der, region=region, source="RSA key object")
    if isinstance(public_keys, os.PathLike) or (
        isinstance(public_keys, str)
        and not public_keys.lstrip().startswith("-----BEGIN")
        and (os.path.exists(public_keys) or not re.fullmatch(r"[A-Za-z0-9+/=\s]{64,}", public_keys))
    ):
        return _keys_from_path(Path(public_keys), region)
    if isinstance(public_keys, bytes | bytearray | memoryview | str):
        return _keys_from_bytes(_der_of(public_keys), region=region, source="key text")
    if isinstance(public_keys, Mapping):
        if "PublicKeyList" in public_keys:
            return load_public_keys(list(public_keys["PublicKeyList"] or []), region=region)
        if "Value" in public_keys:
            reg = public_keys.get("Region") or public_keys.get("region") or region
            return _keys_from_bytes(
                _der_of(public_keys["Value"]),
                region=reg,
                fingerprint=public_keys.get("Fingerprint"),
                valid_from=public_keys.get("ValidityStartTime"),
                valid_to=public_keys.get("ValidityEndTime"),
                source=f"ListPublicKeys entry {public_keys.get('Fingerprint', '')}".strip(),
            )
        out: list[_Key] = []
        for reg, spec in public_keys.items():
            if not isinstance(reg, str) or not re.fullmatch(_REGION_RE, reg):
                raise IntegrityError(
                    f"public_keys: key {reg!r} is not a region name and the mapping is not a "
                    f"ListPublicKeys response. Pass {{'us-east-1': <keys>, ...}} or the response itself."
                )
            out.extend(load_public_keys(spec, region=reg))
        return out
    if isinstance(public_keys, Iterable):
        out = []
        for item in public_keys:
            out.extend(load_public_keys(item, region=region))
        return out
    raise IntegrityError(
        f"public_keys: cannot use a {type(public_keys).__name__}. Pass a ListPublicKeys response, "
        f"a JSON/PEM file path, PEM text, DER bytes or an RSA key."
    )


def _keys_from_path(path: Path, region: str | None) -> list[_Key]:
    if path.is_dir():
        out: list[_Key] = []
        for p in sorted(path.iterdir()):
            if p.suffix in (".json", ".pem", ".der", ".pub") and "private" not in p.name:
                out.extend(_keys_from_path(p, region))
        if not out:
            raise IntegrityError(f"{path}: no public key files (.json, .pem, .der) in this folder.")
        return out
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntegrityError(f"{path}: cannot read the public keys file ({exc.strerror}).") from exc
    if path.suffix == ".json":
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise IntegrityError(
                f"{path}: not JSON ({exc}). Save the output of `aws cloudtrail list-public-keys` "
                f"or use trailkit.integrity.fetch_public_keys(cache=...)."
            ) from exc
        return load_public_keys(doc, region=region)
    return _keys_from_bytes(data, region=region, source=str(path))


def default_key_cache() -> Path:
    """Where fetched public keys are cached: ``$TRAILKIT_CACHE_DIR`` or ``~/.cache/trailkit``.

    >>> default_key_cache().name
    'cloudtrail-public-keys.json'
    """
    base = os.environ.get("TRAILKIT_CACHE_DIR") or os.path.join(Path.home(), ".cache", "trailkit")
    return Path(base) / "cloudtrail-public-keys.json"


def fetch_public_keys(
    regions: str | Sequence[str],
    *,
    start: str | datetime | date | None = None,
    end: str | datetime | date | None = None,
    session: boto3.Session | None = None,
    cache: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Fetch CloudTrail's public keys with ``ListPublicKeys`` and cache them for offline use.

    Keys are per region, so the call is made in every region of ``regions``. The result (and
    the cache file) is a ``ListPublicKeys``-shaped document whose entries also carry
    ``Region``; :func:`validate_logs` accepts it as ``public_keys=``.

    Parameters
    ----------
    regions
        The regions whose digests you will validate (the region folder of the digests).
    start, end
        The period the digests cover (default: the last 90 days to now).
    session
        A ``boto3.Session`` (default: the normal credential chain; honours
        ``TRAILKIT_AWS_ENDPOINT_URL``).
    cache
        JSON file to merge the keys into (default :func:`default_key_cache`); ``False`` to skip.

    Examples
    --------
    >>> doc = fetch_public_keys(["us-east-1"], start="2026-03-01")  # doctest: +SKIP
    >>> trailkit.validate_logs("logs/", public_keys=doc)  # doctest: +SKIP
    """
    from trailkit.aws.session import client, denied, is_denied

    regs = [regions] if isinstance(regions, str) else list(regions)
    hi = to_utc(end, "end") or datetime.now(UTC)
    lo = to_utc(start, "start") or hi - timedelta(days=90)
    entries: list[dict[str, Any]] = []
    for reg in regs:
        ct = client("cloudtrail", session, region=reg, retries=2)
        kwargs: dict[str, Any] = {"StartTime": lo, "EndTime": hi + timedelta(hours=2)}
        while True:
            try:
                resp = ct.list_public_keys(**kwargs)
            except Exception as exc:
                if is_denied(exc):
                    raise denied(
                        f"listing CloudTrail public keys in {reg}",
                        "cloudtrail:ListPublicKeys",
                        "*",
                        exc,
                    ) from exc
                raise
            for k in resp.get("PublicKeyList", []) or []:
                value = k.get("Value")
                entries.append(
                    {
                        "Value": base64.b64encode(value).decode()
                        if isinstance(value, bytes)
                        else value,
                        "ValidityStartTime": _time_text(k.get("ValidityStartTime")),
                        "ValidityEndTime": _time_text(k.get("ValidityEndTime")),
                        "Fingerprint": k.get("Fingerprint"),
                        "Region": reg,
                    }
                )
            token = resp.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    doc = {"PublicKeyList": entries}
    if cache is not False:
        path = Path(cache) if cache else default_key_cache()
        doc = _merge_cache(path, doc)
    return doc


def _time_text(value: Any) -> Any:
    return value.astimezone(UTC).strftime(_TIME_FMT) if isinstance(value, datetime) else value


def _merge_cache(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    old: list[dict[str, Any]] = []
    if path.exists():
        try:
            old = json.loads(path.read_text()).get("PublicKeyList", [])
        except (ValueError, OSError, AttributeError):
            old = []
    seen = {(e.get("Fingerprint"), e.get("Region")) for e in doc["PublicKeyList"]}
    merged = doc["PublicKeyList"] + [
        e for e in old if (e.get("Fingerprint"), e.get("Region")) not in seen
    ]
    out = {"PublicKeyList": merged}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(out, indent=2))
    os.replace(tmp, path)
    return out


# --------------------------------------------------------------------------------------------
# where the objects are: a local copy or S3


@dataclass
class _Ref:
    """One object: where to read it and what its key says."""

    location: str  # local path or s3:// URL
    key: str  # full key as far as known (local: the tail from AWSLogs/)
    bucket: str | None
    match: re.Match


class _LocalStore:
    def __init__(self, roots: Sequence[Path]):
        self.roots = list(roots)
        self.digests: list[_Ref] = []
        self.logs: list[_Ref] = []
        self.by_tail: dict[str, list[str]] = {}
        for root in self.roots:
            if root.is_file():
                walk: Iterable[tuple[str, list[str], list[str]]] = [
                    (str(root.parent), [], [root.name])
                ]
            else:
                walk = os.walk(root)
            for d, _dirs, names in walk:
                for n in names:
                    if n.startswith(".") or n.endswith((".metadata.json", ".part", ".tmp")):
                        continue
                    p = os.path.join(d, n)
                    posix = p.replace(os.sep, "/")
                    m = DIGEST_KEY_RE.search(posix)
                    if m:
                        self.digests.append(_Ref(p, m["tail"], _bucket_dir(posix, m["tail"]), m))
                        self.by_tail.setdefault(m["tail"], []).append(p)
                        continue
                    m = LOG_KEY_RE.search(posix)
                    if m:
                        self.logs.append(_Ref(p, m["tail"], _bucket_dir(posix, m["tail"]), m))
                        self.by_tail.setdefault(m["tail"], []).append(p)

    def describe(self) -> str:
        return ", ".join(str(r) for r in self.roots)

    def find(self, bucket: str | None, key: str | None) -> str | None:
        if not key:
            return None
        tail = _tail(key)
        if tail is None:
            return None
        for t in (tail, tail[:-3] if tail.endswith(".gz") else None):
            if t and t in self.by_tail:
                paths = self.by_tail[t]
                if len(paths) > 1 and bucket:
                    for p in paths:
                        if f"/{bucket}/" in p.replace(os.sep, "/"):
                            return p
                return paths[0]
        return None

    def same_place(self, ref: _Ref, bucket: Any, key: Any) -> bool:
        # a local copy keeps the key from AWSLogs/ on; the folders above it (bucket, prefix,
        # wherever the copy was made) are the user's choice and are not checked
        return isinstance(key, str) and _tail(key) == ref.key

    def read(self, location: str) -> bytes:
        with open(location, "rb") as fh:
            return fh.read()

    def metadata(self, location: str) -> dict[str, Any] | None:
        side = location + ".metadata.json"
        if not os.path.exists(side):
            return None
        try:
            meta = json.loads(Path(side).read_text())
        except (ValueError, OSError):
            return {}
        return meta if isinstance(meta, dict) else {}


def _bucket_dir(posix: str, tail: str) -> str | None:
    head = posix[: len(posix) - len(tail)].rstrip("/")
    return head.rsplit("/", 1)[-1] or None if head else None


class _S3Store:
    def __init__(self, url: str, session: Any):
        from trailkit.aws.session import client

        rest = url[len("s3://") :]
        self.bucket, _, self.prefix = rest.partition("/")
        if not self.bucket:
            raise IntegrityError(f"{url}: no bucket name. Use s3://bucket[/prefix].")
        self.s3 = client("s3", session)
        self.url = url
        self.digests: list[_Ref] = []
        self.logs: list[_Ref] = []
        self.keys: set[str] = set()
        self._list(self.bucket, self.prefix)

    def _list(self, bucket: str, prefix: str) -> None:
        from trailkit.aws.session import denied, is_denied

        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                for obj in page.get("Contents", []) or []:
                    key = obj["Key"]
                    self.keys.add(f"{bucket}/{key}")
                    loc = f"s3://{bucket}/{key}"
                    m = DIGEST_KEY_RE.search(key)
                    if m:
                        self.digests.append(_Ref(loc, key, bucket, m))
                        continue
                    m = LOG_KEY_RE.search(key)
                    if m:
                        self.logs.append(_Ref(loc, key, bucket, m))
        except Exception as exc:
            if is_denied(exc):
                raise denied(
                    f"listing s3://{bucket}/{prefix}",
                    "s3:ListBucket",
                    f"arn:aws:s3:::{bucket}",
                    exc,
                ) from exc
            raise IntegrityError(
                f"s3://{bucket}/{prefix}: cannot list the objects ({exc})."
            ) from exc

    def describe(self) -> str:
        return self.url

    def find(self, bucket: str | None, key: str | None) -> str | None:
        if not key or not bucket:
            return None
        if bucket == self.bucket and key.startswith(self.prefix):
            return f"s3://{bucket}/{key}" if f"{bucket}/{key}" in self.keys else None
        # outside the listed prefix (e.g. only CloudTrail-Digest/ was listed) or another bucket
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except Exception:  # NoSuchKey / 404 / 403: not readable here
            return None
        return f"s3://{bucket}/{key}"

    def same_place(self, ref: _Ref, bucket: Any, key: Any) -> bool:
        return bucket == ref.bucket and key == ref.key

    def read(self, location: str) -> bytes:
        bucket, _, key = location[len("s3://") :].partition("/")
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def metadata(self, location: str) -> dict[str, Any] | None:
        bucket, _, key = location[len("s3://") :].partition("/")
        return dict(self.s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}) or {})


def _open_store(source: Any, session: Any) -> _LocalStore | _S3Store:
    if isinstance(source, str) and source.startswith("s3://"):
        return _S3Store(source, session)
    sources = [source] if isinstance(source, str | os.PathLike) else list(source)
    roots = []
    for s in sources:
        p = Path(s)
        if not p.exists():
            raise IntegrityError(
                f"{p}: no such file or folder. Pass the folder that holds the AWSLogs/ copy "
                f"(with its CloudTrail-Digest/ folders) or an s3://bucket/prefix URL."
            )
        roots.append(p)
    return _LocalStore(roots)


# --------------------------------------------------------------------------------------------
# validation


@dataclass
class _Digest:
    ref: _Ref
    raw: bytes | None = None
    doc: dict[str, Any] | None = None
    error: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def sort_key(self) -> str:
        return self.ref.match["ts"]


@dataclass
class _LogTask:
    entry: dict[str, Any]
    digest_uri: str | None
    account: str | None
    region: str | None
    trail: str | None
    status_if_ok: str = "valid"  # "unverified" when the listing digest failed validation
    location: str | None = None


@dataclass
class _Validation:
    store: Any
    keys: list[_Key]
    rows: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[_LogTask] = field(default_factory=list)
    listed_tails: set[str] = field(default_factory=set)


_REQUIRED = (
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
)


def _row(
    kind: str,
    status: str,
    detail: str | None,
    *,
    location: str | None = None,
    s3_uri: str | None = None,
    digest: str | None = None,
    account_id: str | None = None,
    region: str | None = None,
    trail: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    expected_sha256: str | None = None,
    actual_sha256: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "status": status,
        "detail": detail,
        "location": location,
        "s3_uri": s3_uri,
        "digest": digest,
        "account_id": account_id,
        "region": region,
        "trail": trail,
        "start_time": start_time,
        "end_time": end_time,
        "expected_sha256": expected_sha256,
        "actual_sha256": actual_sha256,
    }


def _load_digest(store: Any, ref: _Ref) -> _Digest:
    d = _Digest(ref)
    try:
        d.raw = _inflate(store.read(ref.location))
    except OSError as exc:
        d.error = f"invalid format: cannot read the file ({exc})"
        return d
    except ValueError as exc:
        d.error = str(exc)
        return d
    except Exception as exc:  # S3 errors
        d.error = f"invalid format: {exc}"
        return d
    try:
        doc = json.loads(d.raw)
    except ValueError:
        d.error = "invalid format: not JSON"
        return d
    if not isinstance(doc, dict):
        d.error = "invalid format: not a JSON object"
        return d
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        d.error = f"invalid format: missing {', '.join(missing)}"
    d.doc = doc
    d.start = _parse_time(doc.get("digestStartTime"))
    d.end = _parse_time(doc.get("digestEndTime"))
    return d


def _check_digest(
    v: _Validation, d: _Digest, claimed: tuple[str | None, str | None, bool] | None
) -> tuple[str, str]:
    """Verify one digest → (status, detail).

    ``claimed`` = (signature, hash, trusted): what the next (newer) digest records about this
    one, and whether that newer digest verified. A signature verifies by itself, so an
    untrusted claim may still serve as the signature; only a trusted one may contradict.
    """
    if d.error:
        return "invalid", d.error
    doc = d.doc or {}
    ref = d.ref
    if not v.store.same_place(ref, doc.get("digestS3Bucket"), doc.get("digestS3Object")):
        return "invalid", (
            f"has been moved from its original location "
            f"(the digest says s3://{doc.get('digestS3Bucket')}/{doc.get('digestS3Object')})"
        )
    if doc.get("awsAccountId") not in (None, ref.match["account"]):
        return "invalid", (
            f"awsAccountId {doc.get('awsAccountId')} does not match the account folder "
            f"{ref.match['account']}"
        )
    meta_error = None
    try:
        meta = v.store.metadata(ref.location)
    except Exception as exc:  # S3 head_object errors
        meta, meta_error = None, str(exc)
    meta_sig = (meta or {}).get("signature")
    claimed_sig, claimed_hash, trusted = claimed or (None, None, False)
    if trusted and meta_sig and claimed_sig and str(meta_sig).lower() != str(claimed_sig).lower():
        return "invalid", (
            "signature in the S3 metadata does not match previousDigestSignature in the next "
            "digest (the digest was re-signed or replaced)"
        )
    if (
        trusted
        and claimed_hash
        and hashlib.sha256(d.raw or b"").hexdigest() != str(claimed_hash).lower()
    ):
        return "invalid", "hash value doesn't match previousDigestHashValue in the next digest"
    signature = meta_sig or claimed_sig
    if not signature:
        why = f" ({meta_error})" if meta_error else ""
        return "unverified", (
            "no signature to check: the S3 metadata (x-amz-meta-signature, saved locally as "
            f"<digest>.metadata.json) is missing and no newer digest records it{why}"
        )
    if meta_sig and "signature-algorithm" not in (meta or {}):
        return (
            "invalid",
            "signature verification failed: the S3 metadata has no signature-algorithm",
        )
    algo = (
        (meta or {}).get("signature-algorithm") if meta_sig else doc.get("digestSignatureAlgorithm")
    )
    if (algo or SIGNATURE_ALGORITHM) != SIGNATURE_ALGORITHM:
        return (
            "invalid",
            f"unsupported signature algorithm {algo!r} (CloudTrail uses {SIGNATURE_ALGORITHM})",
        )
    fp = str(doc.get("digestPublicKeyFingerprint") or "").lower()
    region = ref.match["region"]
    keys = [k for k in v.keys if k.fingerprint == fp and (k.region is None or k.region == region)]
    if not keys:
        return "invalid", f"public key not found in region {region} for fingerprint {fp}"
    try:
        sig = bytes.fromhex(str(signature))
    except ValueError:
        return "invalid", "signature verification failed: the signature is not hex"
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    message = string_to_sign(doc, d.raw or b"").encode()
    for k in keys:
        try:
            k.key.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return "valid", "valid"
    return "invalid", "signature verification failed"


def _walk_chain(v: _Validation, digests: list[_Digest], *, lo: datetime | None) -> None:
    """Walk one trail/region chain newest → oldest, as aws-cli does, recording rows and log tasks."""
    by_tail = {(_tail(d.ref.key) or d.ref.key): d for d in digests}
    order = sorted(digests, key=lambda d: d.sort_key)
    done: set[int] = set()
    m0 = order[-1].ref.match
    account, region, trail = m0["account"], m0["region"], m0["trail"]
    tag = "(backfill) " if m0["backfill"] else ""

    def next_older(than: str | None) -> _Digest | None:
        for d in reversed(order):
            if id(d) not in done and (than is None or d.sort_key < than):
                return d
        return None

    def row(kind: str, status: str, detail: str, **kw: Any) -> None:
        v.rows.append(
            _row(
                kind,
                status,
                tag + detail if kind == "digest" else detail,
                account_id=account,
                region=region,
                trail=trail,
                **kw,
            )
        )

    while (cur := next_older(None)) is not None:  # each pass walks one unbroken stretch of chain
        claimed: tuple[str | None, str | None, bool] | None = None
        while cur is not None:
            done.add(id(cur))
            status, detail = _check_digest(v, cur, claimed)
            doc = cur.doc or {}
            uri = _s3_uri(doc.get("digestS3Bucket"), doc.get("digestS3Object")) or cur.ref.location
            row(
                "digest",
                status,
                detail,
                location=cur.ref.location,
                s3_uri=uri,
                start_time=cur.start,
                end_time=cur.end,
                expected_sha256=claimed[1] if claimed and claimed[2] else None,
                actual_sha256=hashlib.sha256(cur.raw).hexdigest() if cur.raw is not None else None,
            )
            files = doc.get("logFiles")
            for entry in files if isinstance(files, list) else []:
                if isinstance(entry, dict):
                    v.tasks.append(
                        _LogTask(
                            entry,
                            uri,
                            account,
                            region,
                            trail,
                            "valid" if status == "valid" else "unverified",
                        )
                    )
            prev_obj = doc.get("previousDigestS3Object")
            if cur.doc is None:  # unreadable: go on with the next older one on the list
                cur, claimed = next_older(cur.sort_key), None
                continue
            if prev_obj is None:  # a starting digest: the chain begins here
                nxt = next_older(cur.sort_key)
                if nxt is not None:
                    row(
                        "gap",
                        "gap",
                        f"No log files were delivered by CloudTrail between {_fmt(nxt.end)} and "
                        f"{_fmt(cur.start)} (logging or log file validation was off)",
                        start_time=nxt.end,
                        end_time=cur.start,
                    )
                cur, claimed = nxt, None
                continue
            prev_bucket = doc.get("previousDigestS3Bucket")
            prev_key = str(prev_obj)
            pm = DIGEST_KEY_RE.search(prev_key)
            prev_time = _key_time(pm["ts"]) if pm else None
            if lo is not None and prev_time is not None and prev_time < lo:
                break  # the rest of the chain is before the requested window
            prev = by_tail.get(_tail(prev_key) or prev_key)
            if prev is None:
                row(
                    "digest",
                    "missing",
                    "not found",
                    location=v.store.find(prev_bucket, prev_key) or _s3_uri(prev_bucket, prev_key),
                    s3_uri=_s3_uri(prev_bucket, prev_key),
                    end_time=prev_time,
                )
                cur, claimed = next_older(pm["ts"] if pm else cur.sort_key), None
                continue
            if id(prev) in done:
                break
            claimed = (
                doc.get("previousDigestSignature"),
                doc.get("previousDigestHashValue"),
                status == "valid",
            )
            cur = prev


def _check_log(store: Any, task: _LogTask) -> dict[str, Any]:
    e = task.entry
    bucket, key = e.get("s3Bucket"), e.get("s3Object")
    uri = _s3_uri(bucket, key)
    expected = str(e.get("hashValue") or "").lower() or None
    common = {
        "s3_uri": uri,
        "digest": task.digest_uri,
        "account_id": task.account,
        "region": task.region,
        "trail": task.trail,
        "start_time": _parse_time(e.get("oldestEventTime")),
        "end_time": _parse_time(e.get("newestEventTime")),
        "expected_sha256": expected,
    }
    loc = store.find(bucket, key) if isinstance(key, str) else None
    task.location = loc
    if loc is None:
        return _row("log", "missing", "not found", location=uri, **common)
    try:
        content = _inflate(store.read(loc))
    except ValueError as exc:
        return _row(
            "log",
            "invalid" if task.status_if_ok == "valid" else "unverified",
            str(exc),
            location=loc,
            **common,
        )
    except Exception as exc:  # OSError, S3 errors
        return _row(
            "log",
            "invalid" if task.status_if_ok == "valid" else "unverified",
            f"invalid format: {exc}",
            location=loc,
            **common,
        )
    actual = hashlib.sha256(content).hexdigest()
    if e.get("hashAlgorithm", "SHA-256") not in ("SHA-256", None):
        return _row(
            "log",
            "invalid",
            f"unsupported hash algorithm {e.get('hashAlgorithm')!r}",
            location=loc,
            actual_sha256=actual,
            **common,
        )
    if task.status_if_ok != "valid":
        same = "matches" if actual == expected else "does NOT match"
        return _row(
            "log",
            "unverified",
            f"listed only by a digest that failed validation (its hash {same} that digest)",
            location=loc,
            actual_sha256=actual,
            **common,
        )
    if actual != expected:
        return _row(
            "log",
            "invalid",
            "hash value doesn't match",
            location=loc,
            actual_sha256=actual,
            **common,
        )
    return _row("log", "valid", "valid", location=loc, actual_sha256=actual, **common)


def _need_keys(store: Any, digests: list[_Digest], public_keys: Any, session: Any) -> list[_Key]:
    if public_keys is not None:
        keys = load_public_keys(public_keys)
        if not keys:
            raise IntegrityError(
                "public_keys is empty. Pass CloudTrail's ListPublicKeys output or a key file."
            )
        return keys
    wanted: dict[str, set[str]] = {}
    times: list[datetime] = []
    for d in digests:
        if d.doc:
            fp = str(d.doc.get("digestPublicKeyFingerprint") or "").lower()
            wanted.setdefault(d.ref.match["region"], set()).add(fp)
            times += [t for t in (d.start, d.end) if t]
    cache = default_key_cache()
    keys: list[_Key] = []
    if cache.exists():
        try:
            keys = load_public_keys(cache)
        except IntegrityError:
            keys = []
    have = {(k.region, k.fingerprint) for k in keys} | {
        (None, k.fingerprint) for k in keys if k.region is None
    }
    missing_regions = sorted(
        r
        for r, fps in wanted.items()
        if any((r, fp) not in have and (None, fp) not in have for fp in fps)
    )
    if not missing_regions:
        return keys
    try:
        doc = fetch_public_keys(
            missing_regions,
            start=min(times) if times else None,
            end=max(times) if times else None,
            session=session,
            cache=cache,
        )
    except Exception as exc:
        raise IntegrityError(
            f"No CloudTrail public keys for the digests in region(s) {', '.join(missing_regions)} in the "
            f"key cache {cache}, and fetching them with ListPublicKeys failed ({type(exc).__name__}: {exc}). "
            f"Pass public_keys= (command line: --public-keys; a ListPublicKeys JSON file or a PEM key), or run "
            f"trailkit.integrity.fetch_public_keys({missing_regions!r}) once while online."
        ) from exc
    return load_public_keys(doc)


def validate_logs(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    public_keys: Any = None,
    start: str | datetime | date | None = None,
    end: str | datetime | date | None = None,
    session: boto3.Session | None = None,
) -> pl.DataFrame:
    """Validate CloudTrail log files against their signed digest files, like ``validate-logs``.

    For every digest file (``CloudTrail-Digest/…``): check that it sits where it was delivered,
    that its SHA256withRSA signature verifies with CloudTrail's public key for its fingerprint
    (the signature comes from the S3 metadata, saved locally as ``<digest>.metadata.json``, or
    from the next digest's ``previousDigestSignature``), and walk the chain of digests newest
    → oldest. For every log file a valid digest lists: check the SHA-256 of its uncompressed
    content. Log files that no digest lists are reported as ``not_covered``.

    Parameters
    ----------
    source
        A local folder holding a copy of the bucket (any folder above ``AWSLogs/``; the copy
        made by ``trailkit.aws.fetch_logs`` works as is), several folders, or
        ``s3://bucket[/prefix]`` to validate in S3 directly.
    public_keys
        CloudTrail's public keys: a ``ListPublicKeys`` response or JSON file, PEM/DER keys, or
        ``{region: keys}``; see :func:`load_public_keys`. Default: the key cache
        (:func:`default_key_cache`), fetched with ``ListPublicKeys`` when a key is missing.
        Never take the keys from the same place as the logs: whoever can change the logs
        could change a key shipped beside them.
    start, end
        Only digests that end in ``[start, end + 1 h]`` (aws-cli's window: log files spill
        into the next hour's digest), and only log files delivered in ``[start, end]`` are
        reported as not covered. Default: everything.
    session
        ``boto3.Session`` for S3 sources and for fetching keys.

    Returns
    -------
    polars.DataFrame
        One row per digest file, log file and gap, columns :data:`REPORT_SCHEMA`:
        ``kind`` (digest/log/gap), ``status`` (valid, invalid, missing, not_covered,
        unverified, gap), ``detail`` (aws-cli's wording), ``location``, ``s3_uri``,
        ``digest``, ``account_id``, ``region``, ``trail``, ``start_time``, ``end_time``,
        ``expected_sha256``, ``actual_sha256``. See :func:`summarize_validation`.

    Examples
    --------
    >>> import trailkit
    >>> report = trailkit.validate_logs("data/samples",
    ...     public_keys="data/samples/test-signing-key/public-keys.json")  # doctest: +SKIP
    >>> report.group_by("kind", "status").len()  # doctest: +SKIP
    """
    lo = to_utc(start, "start")
    hi = to_utc(end, "end")
    if lo and hi and lo > hi:
        raise InputError(f"start {_fmt(lo)} is after end {_fmt(hi)}. Swap them.")
    store = _open_store(source, session)
    refs = store.digests
    if lo or hi:
        refs = [
            r
            for r in refs
            if (lo is None or _key_time(r.match["ts"]) >= lo)
            and (hi is None or _key_time(r.match["ts"]) <= hi + timedelta(hours=1))
        ]
    if not refs and not store.logs:
        raise IntegrityError(
            f"{store.describe()}: no CloudTrail digest or log files found (looked for "
            f"AWSLogs/<account>/CloudTrail-Digest/<region>/… and …/CloudTrail/…). Point at the "
            f"folder above AWSLogs/, and copy the CloudTrail-Digest folders with the logs."
        )
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        digests = list(pool.map(lambda r: _load_digest(store, r), refs))
    keys = _need_keys(store, digests, public_keys, session) if digests else []
    v = _Validation(store, keys)
    chains: dict[tuple, list[_Digest]] = {}
    for d in digests:
        m = d.ref.match
        root = d.ref.location[: len(d.ref.location) - len(m["tail"])]
        chains.setdefault(
            (root, m["org"], m["account"], m["region"], m["trail"], m["home"], bool(m["backfill"])),
            [],
        ).append(d)
    for k in sorted(chains, key=lambda k: tuple(str(x) for x in k)):
        _walk_chain(v, chains[k], lo=lo)
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        v.rows.extend(pool.map(lambda t: _check_log(store, t), v.tasks))
    listed = {t.location for t in v.tasks if t.location}
    newest_end = max((d.end for d in digests if d.end), default=None)
    for ref in store.logs:
        if ref.location in listed:
            continue
        m = ref.match
        ts = _key_time(m["ts"])
        if (lo and ts < lo) or (hi and ts > hi):
            continue
        later = newest_end is not None and ts >= newest_end - timedelta(minutes=15)
        detail = "no digest lists this log file" + (
            " (it may be newer than the newest digest, which CloudTrail delivers hourly)"
            if later or newest_end is None
            else ""
        )
        v.rows.append(
            _row(
                "log",
                "not_covered",
                detail,
                location=ref.location,
                s3_uri=_s3_uri(ref.bucket, ref.key) if isinstance(store, _S3Store) else None,
                account_id=m["account"],
                region=m["region"],
            )
        )
    report = (
        pl.DataFrame(v.rows, schema=REPORT_SCHEMA) if v.rows else pl.DataFrame(schema=REPORT_SCHEMA)
    )
    order = {"digest": 0, "gap": 1, "log": 2}
    return (
        report.with_columns(pl.col("kind").replace_strict(order, default=3).alias("_o"))
        .sort(["_o", "account_id", "region", "trail", "end_time", "location"], nulls_last=True)
        .drop("_o")
    )


def validation_ok(report: pl.DataFrame, *, strict: bool = False) -> bool:
    """True when no digest or log file is invalid, missing or unverified.

    With ``strict=True``, log files no digest lists and gaps in the chain count too.
    This is the exit status of ``trailkit validate``.

    >>> import polars as pl
    >>> validation_ok(pl.DataFrame({"kind": ["digest"], "status": ["valid"]}))
    True
    >>> validation_ok(pl.DataFrame({"kind": ["log"], "status": ["not_covered"]}), strict=True)
    False
    """
    bad = {"invalid", "missing", "unverified"} | ({"not_covered", "gap"} if strict else set())
    return report.filter(pl.col("status").is_in(sorted(bad))).height == 0


def summarize_validation(report: pl.DataFrame) -> str:
    """The summary ``aws cloudtrail validate-logs`` prints, for a :func:`validate_logs` report.

    >>> import polars as pl
    >>> from trailkit.integrity import REPORT_SCHEMA
    >>> r = pl.DataFrame({"kind": ["digest", "log", "log"], "status": ["valid", "valid", "invalid"]})
    >>> print(summarize_validation(r))
    Results found for ? to ?:
    <BLANKLINE>
    1/1 digest files valid
    1/2 log files valid, 1/2 log files INVALID
    """
    lines: list[str] = []
    dig = report.filter(pl.col("kind") == "digest")
    if dig.height == 0:
        lines.append("No digests found")
    else:
        have = dig.filter(pl.col("status") != "missing")
        lo = have["start_time"].min() if "start_time" in have.columns else None
        hi = have["end_time"].max() if "end_time" in have.columns else None
        lines += [f"Results found for {_fmt(lo)} to {_fmt(hi)}:", ""]

    def count(kind: str, label: str) -> None:
        part = report.filter(pl.col("kind") == kind)
        n = part.height
        if not n:
            return
        counts = dict(part.group_by("status").len().iter_rows())
        bits = [f"{counts.get('valid', 0)}/{n} {label} valid"]
        for status, word in (
            ("invalid", "INVALID"),
            ("missing", "MISSING"),
            ("unverified", "UNVERIFIED"),
            ("not_covered", "NOT COVERED by any digest"),
        ):
            if counts.get(status):
                bits.append(f"{counts[status]}/{n} {label} {word}")
        lines.append(", ".join(bits))

    count("digest", "digest files")
    count("log", "log files")
    gaps = report.filter(pl.col("kind") == "gap").height
    if gaps:
        lines.append(
            f"{gaps} gap{'s' if gaps > 1 else ''} in the digest chain (no digests: logging or "
            f"validation was off)"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# CloudTrail's side: writing signed digests for a local log tree


def generate_test_key(bits: int = 2048) -> bytes:
    """A new RSA private key as PEM, for signing test digests (never for anything real).

    >>> generate_test_key().startswith(b"-----BEGIN PRIVATE KEY-----")
    True
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private_key(private_key_pem: Any):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(private_key_pem, rsa.RSAPrivateKey):
        return private_key_pem
    data = private_key_pem
    if isinstance(data, os.PathLike) or (
        isinstance(data, str) and not data.lstrip().startswith("-----")
    ):
        try:
            data = Path(data).read_bytes()
        except OSError as exc:
            raise IntegrityError(
                f"{private_key_pem}: cannot read the private key ({exc.strerror})."
            ) from exc
    if isinstance(data, str):
        data = data.encode()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise IntegrityError(f"private key: not an unencrypted PEM private key ({exc}).") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise IntegrityError("private key: not an RSA key; CloudTrail signs digests with RSA.")
    return key


def _fingerprint(public_key: Any) -> tuple[str, bytes]:
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return hashlib.md5(der).hexdigest(), der  # noqa: S324 - CloudTrail's fingerprint is MD5


def public_keys_document(
    key: Any,
    *,
    region: str | None = None,
    valid_from: str | datetime = "2000-01-01T00:00:00Z",
    valid_to: str | datetime = "2100-01-01T00:00:00Z",
) -> dict[str, Any]:
    """What ``aws cloudtrail list-public-keys`` would print for ``key`` (private or public).

    Write it as JSON beside test data and pass it to :func:`validate_logs` as ``public_keys``.

    >>> doc = public_keys_document(generate_test_key(), region="eu-west-1")
    >>> sorted(doc["PublicKeyList"][0])
    ['Fingerprint', 'Region', 'ValidityEndTime', 'ValidityStartTime', 'Value']
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(key, rsa.RSAPublicKey):
        pub = key
    elif isinstance(key, rsa.RSAPrivateKey):
        pub = key.public_key()
    else:
        try:
            pub = _private_key(key).public_key()
        except IntegrityError:
            pub = load_public_keys(key)[0].key
    fp, der = _fingerprint(pub)
    entry: dict[str, Any] = {
        "Value": base64.b64encode(der).decode(),
        "ValidityStartTime": _time_text(to_utc(valid_from, "valid_from")),
        "ValidityEndTime": _time_text(to_utc(valid_to, "valid_to")),
        "Fingerprint": fp,
    }
    if region:
        entry["Region"] = region
    return {"PublicKeyList": [entry]}


class _Times(msgspec.Struct):
    eventTime: str | None = None  # noqa: N815 - CloudTrail's field name


class _Envelope(msgspec.Struct):
    Records: list[_Times] | None = None  # noqa: N815


def _event_times(content: bytes) -> tuple[str | None, str | None]:
    try:
        env = msgspec.json.decode(content, type=_Envelope)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, None
    times = sorted(t.eventTime for t in env.Records or [] if t.eventTime)
    return (times[0], times[-1]) if times else (None, None)


def _parse_gaps(gaps: Iterable[Any]) -> list[tuple[datetime, datetime]]:
    out = []
    for g in gaps:
        try:
            a, b = g
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"gaps: {g!r} is not a (start, end) pair. Pass e.g. [('2026-03-10T13:00Z', "
                f"'2026-03-10T15:00Z')]."
            ) from exc
        lo, hi = to_utc(a, "gap start"), to_utc(b, "gap end")
        if lo is None or hi is None or lo >= hi:
            raise InputError(f"gaps: {g!r} must be a (start, end) pair with start before end.")
        out.append((lo, hi))
    return out


def write_digests(
    log_root: str | os.PathLike,
    private_key_pem: Any,
    *,
    trail_name: str = "trailkit-trail",
    home_region: str | None = None,
    bucket: str | None = None,
    prefix: str = "",
    gaps: Iterable[Any] = (),
    start: str | datetime | date | None = None,
    end: str | datetime | date | None = None,
    replace: bool = True,
) -> pl.DataFrame:
    """Sign hourly digest files for a local log tree the way CloudTrail would.

    For every account and region under ``log_root`` (``AWSLogs/<acct>/CloudTrail/<region>/…``)
    one digest per hour is written to ``AWSLogs/<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/``
    (also for hours without log files, as CloudTrail does), listing the SHA-256 of the
    uncompressed content of each log file delivered in that hour, chained to the previous
    digest, and signed with ``private_key_pem`` (SHA256withRSA over the string in SPEC §4.3).
    The signature is saved as ``<digest>.metadata.json`` (``signature``,
    ``signature-algorithm``), which is how the S3 user metadata is kept in local copies.

    Parameters
    ----------
    log_root
        Folder holding ``AWSLogs/`` (possibly deeper: every ``AWSLogs`` folder found is used).
    private_key_pem
        RSA private key: PEM bytes/text, a path to a PEM file, or a key object. Use
        :func:`generate_test_key` for a throwaway key, never a real one.
    trail_name, home_region
        Go into the digest file names (home region default: ``us-east-1``).
    bucket, prefix
        The bucket and key prefix written into the digests (default bucket: the name of the
        folder that holds ``AWSLogs/``; default prefix: none).
    gaps
        ``(start, end)`` pairs when logging was "stopped": no digest is written for hours that
        overlap them, and the next digest starts a new chain (its ``previousDigest*`` are null).
    start, end
        The hours to cover (default: from the first to the last log file delivered).
    replace
        Remove this trail's existing digests under the same ``AWSLogs`` folder first.

    Returns
    -------
    polars.DataFrame
        One row per digest written: ``path``, ``account_id``, ``region``, ``start_time``,
        ``end_time``, ``log_files``, ``starts_chain``.

    Examples
    --------
    >>> from trailkit.integrity import generate_test_key, write_digests
    >>> written = write_digests("my-copy/", generate_test_key())  # doctest: +SKIP
    """
    key = _private_key(private_key_pem)
    fp, _der = _fingerprint(key.public_key())
    home = home_region or "us-east-1"
    if not re.fullmatch(_REGION_RE, home):
        raise InputError(f"home_region={home!r} is not a region name such as 'us-east-1'.")
    if not re.fullmatch(r"[A-Za-z0-9._-]{3,128}", trail_name):
        raise InputError(f"trail_name={trail_name!r}: use 3-128 letters, digits, '.', '_' or '-'.")
    gap_list = _parse_gaps(gaps)
    root = Path(log_root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder. Pass the folder that holds AWSLogs/.")
    groups: dict[tuple[str, str | None, str, str], list[tuple[datetime, str, re.Match]]] = {}
    for d, _dirs, names in os.walk(root):
        for n in names:
            if n.startswith("."):
                continue
            p = os.path.join(d, n)
            posix = p.replace(os.sep, "/")
            m = LOG_KEY_RE.search(posix)
            if not m:
                continue
            base = posix[: len(posix) - len(m["tail"])]
            groups.setdefault((base, m["org"], m["account"], m["region"]), []).append(
                (_key_time(m["ts"]), p, m)
            )
    if not groups:
        raise InputError(
            f"{root}: no CloudTrail log files (AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/"
            f"<account>_CloudTrail_<region>_<time>_<id>.json.gz) under this folder."
        )
    lo_all, hi_all = to_utc(start, "start"), to_utc(end, "end")
    written: list[dict[str, Any]] = []
    for (base, org, account, region), files in sorted(
        groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])
    ):
        bkt = (
            bucket
            or (base.rstrip("/").rsplit("/", 1)[-1] if base.rstrip("/") else None)
            or "trailkit-bucket"
        )
        pre = prefix.strip("/") + "/" if prefix.strip("/") else ""
        acct_dir = f"AWSLogs/{org + '/' if org else ''}{account}"
        digest_dir = Path(base or ".") / acct_dir / "CloudTrail-Digest" / region
        if replace and digest_dir.exists():
            for p in digest_dir.rglob(f"*_CloudTrail-Digest_{region}_{trail_name}_*"):
                p.unlink()
        files.sort()
        first = (lo_all or files[0][0]).replace(minute=0, second=0, microsecond=0)
        last = hi_all or files[-1][0]
        hours: list[datetime] = []
        h = first
        while h <= last:
            hours.append(h)
            h += timedelta(hours=1)
        prev: dict[str, Any] | None = None
        i = 0
        for h0 in hours:
            h1 = h0 + timedelta(hours=1)
            batch = []
            while i < len(files) and files[i][0] < h1:
                if files[i][0] >= h0:
                    batch.append(files[i])
                i += 1
            if any(g0 < h1 and g1 > h0 for g0, g1 in gap_list):
                prev = None  # logging was off: no digest, and the next one starts a new chain
                continue
            entries = []
            newest = oldest = None
            for _ts, p, m in batch:
                content = _inflate(Path(p).read_bytes())
                lo_t, hi_t = _event_times(content)
                entries.append(
                    {
                        "s3Bucket": bkt,
                        "s3Object": pre + m["tail"],
                        "hashValue": hashlib.sha256(content).hexdigest(),
                        "hashAlgorithm": "SHA-256",
                        "newestEventTime": hi_t,
                        "oldestEventTime": lo_t,
                    }
                )
                if hi_t and (newest is None or hi_t > newest):
                    newest = hi_t
                if lo_t and (oldest is None or lo_t < oldest):
                    oldest = lo_t
            name = f"{account}_CloudTrail-Digest_{region}_{trail_name}_{home}_{h1.strftime('%Y%m%dT%H%M%SZ')}.json.gz"
            rel = f"{acct_dir}/CloudTrail-Digest/{region}/{h1:%Y/%m/%d}/{name}"
            doc = {
                "awsAccountId": account,
                "digestStartTime": h0.strftime(_TIME_FMT),
                "digestEndTime": h1.strftime(_TIME_FMT),
                "digestS3Bucket": bkt,
                "digestS3Object": pre + rel,
                "digestPublicKeyFingerprint": fp,
                "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
                "newestEventTime": newest,
                "oldestEventTime": oldest,
                "previousDigestS3Bucket": prev["bucket"] if prev else None,
                "previousDigestS3Object": prev["key"] if prev else None,
                "previousDigestHashValue": prev["hash"] if prev else None,
                "previousDigestHashAlgorithm": "SHA-256" if prev else None,
                "previousDigestSignature": prev["signature"] if prev else None,
                "logFiles": entries,
            }
            raw = json.dumps(doc, separators=(",", ":")).encode()
            signature = _sign(key, string_to_sign(doc, raw))
            out = Path(base or ".") / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(gzip.compress(raw, mtime=0))
            Path(str(out) + ".metadata.json").write_text(
                json.dumps(
                    {"signature": signature, "signature-algorithm": SIGNATURE_ALGORITHM}, indent=2
                )
                + "\n"
            )
            written.append(
                {
                    "path": str(out),
                    "account_id": account,
                    "region": region,
                    "start_time": h0,
                    "end_time": h1,
                    "log_files": len(entries),
                    "starts_chain": prev is None,
                }
            )
            prev = {
                "bucket": bkt,
                "key": pre + rel,
                "hash": hashlib.sha256(raw).hexdigest(),
                "signature": signature,
            }
    return pl.DataFrame(
        written,
        schema={
            "path": pl.String,
            "account_id": pl.String,
            "region": pl.String,
            "start_time": _UTC,
            "end_time": _UTC,
            "log_files": pl.Int64,
            "starts_chain": pl.Boolean,
        },
    )


def _sign(key: Any, text: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()


SAMPLE_KEY_README = """\
# test-signing-key — a TEST key, NOT an AWS key

The digest files under `../AWSLogs/*/CloudTrail-Digest/` were signed by trailkit
(`trailkit.integrity.sign_samples()`, which calls `write_digests()`) with the RSA-2048 key in
this folder, so that the sample logs can be validated offline the way
`aws cloudtrail validate-logs` validates real ones.

* `public-key.pem` — the public key. Validate with
  `trailkit.validate_logs("data/samples", public_keys="data/samples/test-signing-key/public-key.pem")`
  or `trailkit validate data/samples --public-keys data/samples/test-signing-key/public-key.pem`.
* `private-key.pem` — the private key, **published on purpose** so the samples can be re-signed
  after they are regenerated. Never use it for anything else. It shows the lesson of this
  folder: whoever holds the signing key can forge digests. CloudTrail's private keys never
  leave AWS; validate real logs only with the keys from `aws cloudtrail list-public-keys`
  (`trailkit.integrity.fetch_public_keys`), never with a key found next to the logs.
"""


def sample_signing_key(samples: str | os.PathLike | None = None) -> Path:
    """Path of the public test key the sample digests were signed with.

    >>> sample_signing_key().name
    'public-key.pem'
    """
    root = Path(samples) if samples else Path(__file__).resolve().parent.parent / "data" / "samples"
    return root / "test-signing-key" / "public-key.pem"


def sign_samples(
    samples: str | os.PathLike | None = None,
    key_dir: str | os.PathLike | None = None,
    **kwargs: Any,
) -> pl.DataFrame:
    """(Re)write the signed digest files of the sample data with the shipped test key.

    The test key lives in ``<samples>/test-signing-key/`` (``private-key.pem`` — a TEST key
    published on purpose, not an AWS key — ``public-key.pem`` to validate with, and a
    README). A new key is made when none exists. Only ``.pem``/``.md`` files live there, so
    loading the samples folder never mistakes them for logs. ``kwargs`` go to
    :func:`write_digests` (default trail name ``acme-org-trail``, home region ``us-east-1``).

    >>> sign_samples()  # doctest: +SKIP
    """
    from cryptography.hazmat.primitives import serialization

    root = Path(samples) if samples else Path(__file__).resolve().parent.parent / "data" / "samples"
    kdir = Path(key_dir) if key_dir else root / "test-signing-key"
    kdir.mkdir(parents=True, exist_ok=True)
    priv = kdir / "private-key.pem"
    if not priv.exists():
        priv.write_bytes(generate_test_key())
    pub = _private_key(priv.read_bytes()).public_key()
    (kdir / "public-key.pem").write_bytes(
        pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (kdir / "README.md").write_text(SAMPLE_KEY_README)
    kwargs.setdefault("trail_name", "acme-org-trail")
    return write_digests(root, priv.read_bytes(), **kwargs)


# --------------------------------------------------------------------------------------------
# command line: ``trailkit validate`` (registered in trailkit/cli.py)


def add_validate_arguments(p: Any) -> None:
    """Register the arguments of ``trailkit validate`` on an argparse parser."""
    p.add_argument(
        "source",
        nargs="+",
        help="folder(s) holding a copy of the bucket (above AWSLogs/), or s3://bucket[/prefix]",
    )
    p.add_argument(
        "--public-keys",
        metavar="FILE",
        help="CloudTrail public keys: `aws cloudtrail list-public-keys` JSON, or a PEM key "
        "(default: the key cache, fetched with ListPublicKeys when needed)",
    )
    p.add_argument("--start", help="first digest time to check (ISO, UTC), e.g. 2026-03-10")
    p.add_argument("--end", help="last time to check (ISO, UTC)")
    p.add_argument("--verbose", action="store_true", help="also list the files that are valid")
    p.add_argument(
        "--strict",
        action="store_true",
        help="also fail on log files no digest lists and on gaps in the digest chain",
    )
    p.add_argument("--csv", metavar="FILE", help="write the whole report as CSV")


def run_validate_command(args: Any) -> int:
    """``trailkit validate``: print aws-cli-style lines and the summary; 1 when anything failed."""
    import sys

    source = args.source[0] if len(args.source) == 1 else args.source
    report = validate_logs(source, public_keys=args.public_keys, start=args.start, end=args.end)
    print(
        f"Validating log files in {', '.join(args.source)}"
        + (f" between {args.start or '…'} and {args.end or '…'}" if args.start or args.end else "")
    )
    labels = {"digest": "Digest file", "log": "Log file", "gap": "Gap"}
    for kind, status, detail, loc in report.select(
        "kind", "status", "detail", "location"
    ).iter_rows():
        msg = "valid" if status == "valid" else f"{status.upper().replace('_', ' ')}: {detail}"
        line = f"{labels.get(kind, kind)}\t{loc or ''}\t{msg}"
        if kind == "gap":
            print(f"{labels[kind]}\t{detail}", file=sys.stderr)
        elif status != "valid":
            print(line, file=sys.stderr)
        elif args.verbose:
            print(line)
    print()
    print(summarize_validation(report))
    if args.csv:
        report.write_csv(args.csv)
        print(f"\nwrote the report to {args.csv}")
    return 0 if validation_ok(report, strict=args.strict) else 1
