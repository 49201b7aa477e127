"""Download delivered CloudTrail log files from S3 into a local cache that ``read_events`` loads.

Only the objects that can hold events in the requested window are fetched: trailkit lists the
dated delivery folders ``[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/``
for the days of the window (never the whole bucket), keeps the files whose delivery time in
the file name falls in the window (plus a margin for late delivery), and downloads them in
parallel. A second call skips every file that is already cached and unchanged (same size and
modification time as the S3 object).

Digest files (``CloudTrail-Digest``) for the window are fetched too, with their S3 user
metadata saved beside them as ``<name>.metadata.json`` (``signature``,
``signature-algorithm``), because log file integrity validation needs that signature.

Examples
--------
>>> import trailkit, trailkit.aws
>>> folder = trailkit.aws.fetch_logs("my-trail-bucket", start="2026-03-10",
...                                  end="2026-03-11")  # doctest: +SKIP
>>> df = trailkit.read_events(folder, start="2026-03-10", end="2026-03-11")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trailkit.aws.session import (
    AwsError,
    AwsNotFound,
    NoLogsFound,
    client,
    denied,
    error_code,
    error_message,
    is_denied,
    progress_bar,
    to_utc,
    want_progress,
)
from trailkit.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import boto3

_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")
# <acct>_CloudTrail_<region>_20260310T1405Z_<unique>.json.gz  (delivery time, minutes)
_LOG_TS = re.compile(r"_(\d{8}T\d{4})Z_[A-Za-z0-9]+\.json(?:\.gz)?$")
# <acct>_CloudTrail-Digest_<region>_<trail>_<home>_20260310T140512Z[_backfill].json.gz
_DIGEST_TS = re.compile(r"_(\d{8}T\d{6})Z(?:_backfill)?\.json(?:\.gz)?$")
_DIGEST_KIND = "CloudTrail-Digest"

#: the region that receives events of global services (IAM, STS global endpoint, sign-in, ...)
GLOBAL_REGION = "us-east-1"


@dataclass
class FetchResult:
    """What one :func:`fetch_logs` call found and did."""

    root: Path
    bucket: str
    prefix: str
    log_files: list[Path] = field(default_factory=list)
    digest_files: list[Path] = field(default_factory=list)
    downloaded: int = 0
    reused: int = 0
    bytes_downloaded: int = 0
    listed_prefixes: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: how many files, how many downloaded and reused.

        >>> FetchResult(Path("x"), "b", "").summary()
        's3://b/: 0 log files, 0 digest files (0 downloaded, 0 B; 0 already cached)'
        """
        return (
            f"s3://{self.bucket}/{self.prefix}: {len(self.log_files)} log files, "
            f"{len(self.digest_files)} digest files ({self.downloaded} downloaded, "
            f"{_size(self.bytes_downloaded)}; {self.reused} already cached)"
        )


_last: FetchResult | None = None


def last_fetch() -> FetchResult | None:
    """The :class:`FetchResult` of the most recent fetch in this process (None before any).

    >>> last_fetch() is None or isinstance(last_fetch(), FetchResult)
    True
    """
    return _last


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def default_dest() -> Path:
    """Where downloaded logs are cached by default: ``<trailkit cache>/s3``.

    >>> default_dest().name
    's3'
    """
    from trailkit.load import default_cache_dir

    return default_cache_dir() / "s3"


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into ``(bucket, prefix)`` (prefix without slashes at the ends).

    >>> parse_s3_url("s3://my-logs/org/AWSLogs/")
    ('my-logs', 'org/AWSLogs')
    >>> parse_s3_url("s3://my-logs")
    ('my-logs', '')
    """
    if not url.startswith("s3://"):
        raise InputError(f"{url!r} is not an s3:// URL. Write it as s3://bucket/prefix.")
    rest = url[5:]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise InputError(f"{url!r} has no bucket name. Write it as s3://bucket/prefix.")
    return bucket, prefix.strip("/")


def _split_prefix(prefix: str) -> tuple[str, str | None, str | None, str | None]:
    """``a/AWSLogs/o-x/123/CloudTrail/eu-west-1`` -> ``("a", "o-x", "123", "eu-west-1")``."""
    parts = [p for p in prefix.strip("/").split("/") if p]
    if "AWSLogs" not in parts:
        return "/".join(parts), None, None, None
    i = parts.index("AWSLogs")
    head, tail = parts[:i], parts[i + 1 :]
    org = account = region = None
    if tail and _ORG.match(tail[0]):
        org, tail = tail[0], tail[1:]
    if tail and _ACCOUNT.match(tail[0]):
        account, tail = tail[0], tail[1:]
    if len(tail) >= 2 and tail[0] == "CloudTrail":
        region = tail[1]
    return "/".join(head), org, account, region


def _days(lo: datetime, hi: datetime) -> list[date]:
    out, d = [], lo.date()
    while d <= hi.date():
        out.append(d)
        d += timedelta(days=1)
    return out


def _ts(match: re.Match | None, fmt: str) -> datetime | None:
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def _subfolders(s3, bucket: str, prefix: str, where: str) -> list[str]:
    """Names of the 'folders' directly under ``prefix`` (which ends with '/')."""
    names: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        ):
            for cp in page.get("CommonPrefixes", []) or []:
                names.append(cp["Prefix"][len(prefix) :].strip("/"))
    except Exception as exc:
        raise _list_error(exc, bucket, prefix, where) from exc
    return names


def _list_error(exc: Exception, bucket: str, prefix: str, where: str) -> Exception:
    code = error_code(exc)
    if code == "NoSuchBucket":
        return AwsNotFound(
            f"s3://{bucket}: the bucket does not exist (NoSuchBucket) while {where}. Check the "
            f"bucket name; `aws cloudtrail describe-trails --query 'trailList[].S3BucketName'` "
            f"shows where your trails deliver."
        )
    if is_denied(exc):
        return denied(
            f"listing s3://{bucket}/{prefix} ({where})",
            "s3:ListBucket",
            f"arn:aws:s3:::{bucket} (allow the prefix '{prefix}' in an s3:prefix condition if you "
            f"use one)",
            exc,
        )
    return AwsError(f"listing s3://{bucket}/{prefix} failed ({code}: {error_message(exc)}).")


def _list_objects(s3, bucket: str, prefix: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []) or []:
                if not obj["Key"].endswith("/"):
                    out.append(obj)
    except Exception as exc:
        raise _list_error(exc, bucket, prefix, "listing a day of logs") from exc
    return out


def _cached(path: Path, obj: dict[str, Any], digest: bool) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size != obj["Size"]:
        return False
    if int(st.st_mtime) != int(obj["LastModified"].timestamp()):
        return False
    return not digest or path.with_name(path.name + ".metadata.json").exists()


def _download(s3, bucket: str, obj: dict[str, Any], path: Path, digest: bool) -> int:
    resp = s3.get_object(Bucket=bucket, Key=obj["Key"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(obj)}.part")
    size = 0
    body = resp["Body"]
    try:
        with open(tmp, "wb") as fh:
            for chunk in iter(lambda: body.read(1 << 20), b""):
                fh.write(chunk)
                size += len(chunk)
        if digest:
            meta = path.with_name(path.name + ".metadata.json")
            meta_tmp = meta.with_name(f".{meta.name}.{os.getpid()}.{id(obj)}.part")
            meta_tmp.write_text(json.dumps(resp.get("Metadata", {}), indent=2, sort_keys=True))
            os.replace(meta_tmp, meta)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    stamp = obj["LastModified"].timestamp()
    os.utime(path, (stamp, stamp))
    return size


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def fetch_logs(
    bucket: str,
    *,
    prefix: str = "",
    accounts: str | Sequence[str] | None = None,
    regions: str | Sequence[str] | None = None,
    start: str | datetime | date,
    end: str | datetime | date | None = None,
    org_id: str | None = None,
    dest: str | os.PathLike | None = None,
    session: boto3.Session | None = None,
    include_digests: bool = True,
    include_global: bool = True,
    delivery_slack: timedelta = timedelta(hours=1),
    progress: bool | None = None,
    workers: int = 8,
) -> Path:
    """Download the CloudTrail log files that can hold events in ``[start, end]``; return the folder.

    Parameters
    ----------
    bucket
        The trail's S3 bucket (a plain name, or ``s3://bucket/prefix``).
    prefix
        The trail's S3 key prefix (the part before ``AWSLogs/``), if it has one. A prefix that
        goes deeper (``AWSLogs/o-abc/111122223333/CloudTrail/eu-west-1``) also selects the
        organization, account and region.
    accounts, regions
        Only these accounts / regions (default: every one found in the bucket). When
        ``regions`` is given, ``us-east-1`` is added because global services (IAM, STS, console
        sign-in) deliver their events there; pass ``include_global=False`` to skip it.
    start, end
        The event window (UTC; naive values are UTC; ``end`` defaults to now).
    org_id
        The organization id (``o-...``) of an organization trail. Default: found in the bucket.
    dest
        Local folder; files land at ``dest/<key>``. Default: ``<trailkit cache>/s3/<bucket>/``.
    session
        A ``boto3.Session`` (default: the normal credential chain).
    include_digests
        Also fetch the digest files of the window, with their ``signature`` metadata beside
        them as ``<name>.metadata.json`` (needed by integrity validation).
    delivery_slack
        How late after ``end`` a file may be delivered and still be fetched (files are named
        by delivery time; CloudTrail delivers about every 5 minutes).
    progress
        Show a progress bar (default: in a terminal or notebook, for 50 files or more).
    workers
        Parallel downloads.

    Returns
    -------
    pathlib.Path
        The local folder that mirrors ``s3://bucket/prefix``; pass it to
        :func:`trailkit.read_events`. :func:`last_fetch` tells what was downloaded.

    Raises
    ------
    AwsNotFound
        The bucket does not exist.
    AwsAccessDenied
        Listing or reading was refused; the message names the missing permission.
    NoLogsFound
        No log file in the window (the message lists what the bucket does hold).

    Examples
    --------
    >>> folder = fetch_logs("org-trail-logs", accounts=["111122223333"], regions=["eu-west-1"],
    ...                     start="2026-03-10T00:00Z", end="2026-03-10T06:00Z")  # doctest: +SKIP
    >>> last_fetch().summary()  # doctest: +SKIP
    's3://org-trail-logs/: 74 log files, 7 digest files (81 downloaded, 1.2 MB; 0 already cached)'
    """
    global _last
    if bucket.startswith("s3://"):
        bucket, url_prefix = parse_s3_url(bucket)
        prefix = "/".join(p for p in (url_prefix, prefix.strip("/")) if p)
    t0 = to_utc(start, "start")
    if t0 is None:
        raise InputError(
            f"fetch_logs(s3://{bucket}/{prefix}) needs start= so that only the window is "
            f"downloaded, e.g. start='2026-03-10', end='2026-03-11'."
        )
    t1 = to_utc(end, "end") or datetime.now(UTC)
    if t0 > t1:
        raise InputError(f"start {t0.isoformat()} is after end {t1.isoformat()}. Swap them.")
    head, url_org, url_account, url_region = _split_prefix(prefix)
    org_id = org_id or url_org
    accounts = _as_list(accounts)
    regions = _as_list(regions)
    if url_account:
        accounts = [a for a in (accounts or [url_account]) if a == url_account]
    if url_region:
        regions = [r for r in (regions or [url_region]) if r == url_region]
        include_global = False
    for a in accounts or []:
        if not _ACCOUNT.match(a):
            raise InputError(f"accounts: {a!r} is not a 12-digit AWS account id.")
    if org_id and not _ORG.match(org_id):
        raise InputError(
            f"org_id={org_id!r} is not an organization id (o- followed by 10-32 letters/digits)."
        )
    if regions and include_global and GLOBAL_REGION not in regions:
        regions = [*regions, GLOBAL_REGION]

    s3 = client("s3", session, config=_pool_config(workers))
    base = f"{head}/AWSLogs/" if head else "AWSLogs/"

    # 1. which (owner folder, account) pairs hold logs
    roots: list[tuple[str, str]] = []  # (folder that ends with '<acct>/', account)
    if org_id:
        org_root = f"{base}{org_id}/"
        found = accounts or [
            a for a in _subfolders(s3, bucket, org_root, "finding accounts") if _ACCOUNT.match(a)
        ]
        roots = [(f"{org_root}{a}/", a) for a in found]
    else:
        top = _subfolders(s3, bucket, base, "finding accounts")
        if not top:
            raise _nothing_at_all(s3, bucket, head, base)
        for name in top:
            if _ACCOUNT.match(name) and (not accounts or name in accounts):
                roots.append((f"{base}{name}/", name))
            elif _ORG.match(name):
                org_accounts = [
                    a
                    for a in _subfolders(s3, bucket, f"{base}{name}/", "finding accounts")
                    if _ACCOUNT.match(a)
                ]
                roots += [
                    (f"{base}{name}/{a}/", a) for a in org_accounts if not accounts or a in accounts
                ]

    # 2. the dated prefixes to list
    log_days = _days(t0, t1 + delivery_slack)
    digest_days = _days(t0, t1 + delivery_slack + timedelta(hours=1))
    jobs: list[tuple[str, str]] = []  # (kind, prefix)
    seen_regions: set[str] = set()
    for root, _acct in roots:
        acct_regions = regions or [
            r for r in _subfolders(s3, bucket, f"{root}CloudTrail/", "finding regions") if r
        ]
        seen_regions.update(acct_regions)
        for region in acct_regions:
            for d in log_days:
                jobs.append(("log", f"{root}CloudTrail/{region}/{d:%Y/%m/%d}/"))
            if include_digests:
                for d in digest_days:
                    jobs.append(("digest", f"{root}{_DIGEST_KIND}/{region}/{d:%Y/%m/%d}/"))

    # 3. list them in parallel and keep the files whose delivery time fits the window
    lo_log = t0.replace(second=0, microsecond=0)
    hi_log = t1 + delivery_slack
    hi_digest = t1 + delivery_slack + timedelta(hours=1)
    wanted: list[tuple[str, dict[str, Any]]] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        listings = list(pool.map(lambda job: _list_objects(s3, bucket, job[1]), jobs))
    for (kind, _p), objects in zip(jobs, listings, strict=True):
        for obj in objects:
            name = obj["Key"].rsplit("/", 1)[-1]
            if kind == "log":
                ts = _ts(_LOG_TS.search(name), "%Y%m%dT%H%M")
                if ts is not None and not (lo_log <= ts <= hi_log):
                    continue
            else:
                ts = _ts(_DIGEST_TS.search(name), "%Y%m%dT%H%M%S")
                if ts is not None and not (t0 <= ts <= hi_digest):
                    continue
            wanted.append((kind, obj))

    local_base = Path(dest) if dest is not None else default_dest() / bucket
    result = FetchResult(
        root=local_base / prefix if prefix else local_base,
        bucket=bucket,
        prefix=prefix,
        listed_prefixes=[p for _k, p in jobs],
        accounts=sorted({a for _r, a in roots}),
        regions=sorted(seen_regions),
    )
    logs = [o for k, o in wanted if k == "log"]
    if not logs:
        _last = result
        raise _empty_window(s3, bucket, head, base, t0, t1, roots, regions, jobs, wanted)

    # 4. download what is not cached yet
    todo: list[tuple[str, dict[str, Any], Path]] = []
    for kind, obj in wanted:
        path = local_base / obj["Key"]
        (result.log_files if kind == "log" else result.digest_files).append(path)
        if _cached(path, obj, kind == "digest"):
            result.reused += 1
        else:
            todo.append((kind, obj, path))

    # by default a bar only for downloads long enough to wait for (and only in a terminal/notebook)
    show = progress if progress is not None else (len(todo) >= 50 and want_progress(None))
    bar = progress_bar(len(wanted), f"s3://{bucket}", show)
    bar.update(result.reused)
    failures: list[tuple[str, Exception]] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [
                (obj["Key"], pool.submit(_download, s3, bucket, obj, path, kind == "digest"))
                for kind, obj, path in todo
            ]
            for key, fut in futures:
                try:
                    result.bytes_downloaded += fut.result()
                    result.downloaded += 1
                except Exception as exc:  # collected, reported below
                    failures.append((key, exc))
                bar.update(1)
    finally:
        bar.close()
    _last = result
    if failures:
        _raise_download_failures(failures, bucket, base, result)
    return result.root


def _pool_config(workers: int):
    from botocore.config import Config

    return Config(max_pool_connections=max(10, workers + 2))


def _raise_download_failures(
    failures: list[tuple[str, Exception]], bucket: str, base: str, result: FetchResult
) -> None:
    gone = [k for k, e in failures if error_code(e) in ("NoSuchKey", "404")]
    other = [(k, e) for k, e in failures if error_code(e) not in ("NoSuchKey", "404")]
    if gone:
        warnings.warn(
            f"s3://{bucket}: {len(gone)} object(s) disappeared between listing and download "
            f"(first: {gone[0]}); they were skipped.",
            stacklevel=3,
        )
        missing = {key.rsplit("/", 1)[-1] for key in gone}
        result.log_files = [p for p in result.log_files if p.name not in missing]
    if not other:
        return
    key, exc = other[0]
    if is_denied(exc):
        raise denied(
            f"downloading s3://{bucket}/{key} ({len(other)} of {len(failures) + result.downloaded} "
            f"files refused)",
            "s3:GetObject",
            f"arn:aws:s3:::{bucket}/{base}* (and kms:Decrypt on the trail's KMS key if the logs "
            f"are encrypted with SSE-KMS)",
            exc,
        ) from exc
    raise AwsError(
        f"downloading s3://{bucket}/{key} failed ({error_code(exc) or type(exc).__name__}: "
        f"{error_message(exc)}); {len(other)} file(s) failed. Run again: files already "
        f"downloaded are kept."
    ) from exc


def _nothing_at_all(s3, bucket: str, head: str, base: str) -> Exception:
    here = f"{head}/" if head else ""
    try:
        top = _subfolders(s3, bucket, here, "looking for AWSLogs/")
    except AwsError:
        top = []
    hint = ""
    if top:
        guesses = [t for t in top if "awslogs" in t.lower()] or top[:10]
        hint = f" Folders there: {', '.join(sorted(guesses)[:10])}."
        nested = [t for t in top if t != "AWSLogs"]
        if nested:
            hint += " If the trail has an S3 key prefix, pass it as prefix= (or in the URL)."
    return NoLogsFound(
        f"s3://{bucket}/{base}: no CloudTrail folder here (nothing under {base}).{hint} "
        f"A trail writes to s3://<bucket>/[<prefix>/]AWSLogs/<account>/CloudTrail/<region>/; "
        f"check the bucket and prefix with `aws cloudtrail describe-trails`."
    )


def _empty_window(
    s3,
    bucket: str,
    head: str,
    base: str,
    t0: datetime,
    t1: datetime,
    roots: list[tuple[str, str]],
    regions: list[str] | None,
    jobs: list[tuple[str, str]],
    wanted: list[tuple[str, dict[str, Any]]],
) -> NoLogsFound:
    window = f"{t0:%Y-%m-%dT%H:%MZ} .. {t1:%Y-%m-%dT%H:%MZ}"
    if not roots:
        found = _subfolders(s3, bucket, base, "finding accounts")
        return NoLogsFound(
            f"s3://{bucket}/{base}: none of the requested accounts has logs here. Found: "
            f"{', '.join(found[:20]) or 'nothing'}. Check accounts= and org_id=."
        )
    digests = [o for k, o in wanted if k == "digest"]
    listed = [p for k, p in jobs if k == "log"]
    shown = ", ".join(listed[:3]) + (f" and {len(listed) - 3} more" if len(listed) > 3 else "")
    what = (
        f" Digest files exist for the window ({len(digests)}), so the trail was delivering: "
        f"there were no events."
        if digests
        else ""
    )
    if regions is None and not listed:
        return NoLogsFound(
            f"s3://{bucket}/{base}: no region folders under CloudTrail/ for accounts "
            f"{', '.join(a for _r, a in roots)}. The trail has not delivered any logs yet."
        )
    return NoLogsFound(
        f"s3://{bucket}/{base}: no CloudTrail log files delivered in {window} (UTC) for accounts "
        f"{', '.join(a for _r, a in roots)} and regions {', '.join(regions) if regions else 'all'}."
        f"{what} Looked in {len(listed)} folder(s): {shown}. Check start/end (UTC), accounts= "
        f"and regions=; LookupEvents (trailkit.aws.lookup_events) covers the last 90 days "
        f"without a trail."
    )


def fetch_logs_url(
    url: str,
    *,
    start: str | datetime | date | None,
    end: str | datetime | date | None = None,
    regions: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
    progress: bool | None = None,
    session: boto3.Session | None = None,
    dest: str | os.PathLike | None = None,
) -> Path:
    """Fetch ``s3://bucket/prefix`` for a window and return the local folder (used by ``read_events``).

    Unlike :func:`fetch_logs`, ``us-east-1`` is not added to ``regions``: ``read_events``
    keeps only the regions asked for.

    >>> fetch_logs_url("s3://b/AWSLogs/", start=None)
    Traceback (most recent call last):
    ...
    trailkit.errors.InputError: read_events('s3://b/AWSLogs/') needs start= (and end=) so that only that window is downloaded, e.g. read_events('s3://b/AWSLogs/', start='2026-03-10', end='2026-03-11').
    """
    if start is None:
        raise InputError(
            f"read_events({url!r}) needs start= (and end=) so that only that window is "
            f"downloaded, e.g. read_events({url!r}, start='2026-03-10', end='2026-03-11')."
        )
    bucket, prefix = parse_s3_url(url)
    return fetch_logs(
        bucket,
        prefix=prefix,
        accounts=accounts,
        regions=regions,
        start=start,
        end=end,
        dest=dest,
        session=session,
        include_global=False,
        progress=progress,
    )
