"""Fast bulk generation: millions of background events stamped from precomputed templates.

Each worker process builds the same template set (one day of the sample background plus a few
large ``RunInstances`` records), encodes every template once with placeholders for the
per-event fields, and stamps events by joining byte fragments. Event counts are allocated to
(day, account, region, 5-minute window) cells up front so the total is exact and the output is
the same whatever the number of processes.

>>> rid = "6f216243-b2f0-4d71-8e1d-2c8f72b43141"
>>> tpl = Template.from_record({"eventVersion": "1.08", "eventTime": "x", "requestID": rid,
...                             "eventID": "e", "responseElements": {"requestId": rid}})
>>> [code for code, _ in tpl.fields]
[b'T', b'R', b'E', b'R']
"""

from __future__ import annotations

import multiprocessing
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trailkit.samples.background import DAY, DAY0, HOUR_WEIGHTS, background
from trailkit.samples.identities import ACCOUNTS, DEV, PROD, Role, iam_user, iso
from trailkit.samples.records import Emitter
from trailkit.samples.writer import ALNUM, GenerationSummary, delivery_key

try:  # isal is a dependency; fall back to zlib where it is missing
    from isal.igzip import compress as _isal_compress

    def _gzip(data: bytes) -> bytes:
        return _isal_compress(data, 2, mtime=0)
except ImportError:  # pragma: no cover
    import gzip

    def _gzip(data: bytes) -> bytes:
        return gzip.compress(data, 6, mtime=0)

import msgspec

WINDOW = 300
PER_FILE = 250
CELL_WEIGHTS = {(PROD, "us-east-1"): 0.42, (PROD, "eu-west-1"): 0.2, (PROD, "us-west-2"): 0.1,
                (DEV, "us-east-1"): 0.1, (DEV, "us-west-2"): 0.12, (DEV, "eu-west-1"): 0.06}
_PLACEHOLDER = re.compile(rb"@@([TERC])@@")
_encode = msgspec.json.Encoder().encode


@dataclass
class Template:
    """A record encoded once, as literal fragments around the fields stamped per event."""

    head: bytes
    fields: list[tuple[bytes, bytes]]  # (code, literal that follows)
    s3_style: bool  # S3 request ids are 16 upper-case hex digits, not UUIDs

    @classmethod
    def from_record(cls, rec: dict) -> Template:
        rec = dict(rec)
        request_id = rec.get("requestID") or ""
        s3_style = "-" not in request_id
        rec["eventTime"] = "@@T@@"
        rec["eventID"] = "@@E@@"
        rec["requestID"] = "@@R@@"
        ident = rec.get("userIdentity") or {}
        attrs = (ident.get("sessionContext") or {}).get("attributes")
        if attrs and "creationDate" in attrs:
            rec["userIdentity"] = msgspec.json.decode(_encode(ident))
            rec["userIdentity"]["sessionContext"]["attributes"]["creationDate"] = "@@C@@"
        data = _encode(rec)
        if request_id and len(request_id) > 8:
            data = data.replace(request_id.encode(), b"@@R@@")
        parts = _PLACEHOLDER.split(data)
        return cls(parts[0], list(zip(parts[1::2], parts[2::2], strict=True)), s3_style)


def _large_records(em: Emitter) -> None:
    """A few big records (multi-instance launches) so the size mix matches real logs."""
    from trailkit.samples import catalog as cat

    rng = em.rng
    for account, region in CELL_WEIGHTS:
        me = iam_user(account, "carol.dev" if account == PROD else "ci-deploy")
        sess = em.assume_role(DAY0 + 36000, me, Role(account, "DeveloperRole"), "carol@example.com")
        for n in (1, 3):
            ids = ["i-" + f"{rng.getrandbits(68):017x}" for _ in range(n)]
            rid = em.uuid()
            req, resp = cat.run_instances(rng, DAY0 + 36100, account, region, "m5.large", ids, request_id=rid)
            em.emit(DAY0 + 36100, sess, "ec2.amazonaws.com", "RunInstances", region=region, req=req, resp=resp,
                    ro=False, request_id=rid)


def build_templates(seed: int = 11) -> dict[tuple[str, str], list[Template]]:
    """Templates per (account, region) from one day of sample background activity."""
    em = Emitter(random.Random(seed))  # noqa: S311 - reproducible sample data
    background(em, days=1, scale=0.35)
    _large_records(em)
    pools: dict[tuple[str, str], list[Template]] = {}
    for _, rec in em.events:
        key = (rec["recipientAccountId"], rec["awsRegion"])
        if key in CELL_WEIGHTS:
            pools.setdefault(key, []).append(Template.from_record(rec))
    return pools


def allocate(events: int, days: int) -> list[list[tuple[str, str, int, int]]]:
    """Exact per-day lists of (account, region, window index, count), diurnal and by region."""
    cells, weights = [], []
    for d in range(days):
        for w in range(DAY // WINDOW):
            hour_w = 3 + HOUR_WEIGHTS[w * WINDOW // 3600]
            for (account, region), cw in CELL_WEIGHTS.items():
                cells.append((d, account, region, w))
                weights.append(hour_w * cw)
    total = sum(weights)
    counts = [int(events * x / total) for x in weights]
    rest = events - sum(counts)
    order = sorted(range(len(cells)), key=lambda i: (-(events * weights[i] / total - counts[i]), i))
    for i in order[:rest]:
        counts[i] += 1
    out: list[list[tuple[str, str, int, int]]] = [[] for _ in range(days)]
    for (d, account, region, w), n in zip(cells, counts, strict=True):
        if n:
            out[d].append((account, region, w, n))
    return out


def _uuid(rng: random.Random) -> bytes:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}".encode()


_POOLS: dict[tuple[str, str], list[Template]] | None = None


def _work_day(task: tuple[str, int, int, list[tuple[str, str, int, int]]]) -> tuple[int, int, int, int, int]:
    """Write one day's files; returns (events, files, bytes, first epoch, last epoch)."""
    global _POOLS
    dest, seed, d, cells = task
    if _POOLS is None:
        _POOLS = build_templates()
    rng = random.Random(seed * 1_000_003 + d)  # noqa: S311 - reproducible sample data
    day = DAY0 + d * DAY
    n_events = n_files = n_bytes = 0
    first, last = 1 << 62, 0
    made: set[Path] = set()
    for account, region, w, n in cells:
        pool = _POOLS[(account, region)]
        start = day + w * WINDOW
        stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:").encode()
        mm = start // 60 % 60  # minute of the window start; windows never cross an hour boundary
        prefix = stamp[:-3]
        created = iso(start - 1800).encode()
        for i in range(0, n, PER_FILE):
            k = min(PER_FILE, n - i)
            out = []
            newest = start
            for tpl in rng.choices(pool, k=k):
                off = rng.randrange(WINDOW)
                newest = max(newest, start + off)
                t = b"%s%02d:%02dZ" % (prefix, mm + off // 60, off % 60)
                rid = (f"{rng.getrandbits(64):016X}".encode() if tpl.s3_style else _uuid(rng))
                parts = [tpl.head]
                for code, lit in tpl.fields:
                    if code == b"T":
                        parts.append(t)
                    elif code == b"E":
                        parts.append(_uuid(rng))
                    elif code == b"R":
                        parts.append(rid)
                    else:
                        parts.append(created)
                    parts.append(lit)
                out.append(b"".join(parts))
            data = _gzip(b'{"Records":[' + b",".join(out) + b"]}")
            key = delivery_key(account, region, newest + rng.randint(90, 480), "".join(rng.choices(ALNUM, k=16)))
            path = Path(dest) / key
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(data)
            n_events += k
            n_files += 1
            n_bytes += len(data)
            first, last = min(first, start), max(last, newest)
    return n_events, n_files, n_bytes, first, last


def run_bulk(dest: Path, *, events: int, seed: int, days: int, processes: int = 2) -> GenerationSummary:
    """Allocate ``events`` over ``days`` and write them with ``processes`` workers."""
    plan = allocate(events, days)
    tasks = [(str(dest), seed, d, cells) for d, cells in enumerate(plan) if cells]
    if processes > 1 and len(tasks) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(min(processes, len(tasks))) as pool:
            results = pool.map(_work_day, tasks, chunksize=1)
    else:
        results = [_work_day(t) for t in tasks]
    n = sum(r[0] for r in results)
    return GenerationSummary(
        dest=dest, events=n, files=sum(r[1] for r in results), bytes=sum(r[2] for r in results),
        first_event=iso(min(r[3] for r in results)) if results else "",
        last_event=iso(max(r[4] for r in results)) if results else "",
        accounts=[f"{a} ({name})" for a, name in ACCOUNTS.items()],
        regions=sorted({r for _, r in CELL_WEIGHTS}))
