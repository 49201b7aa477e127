"""Group records into delivery files and write them in the S3 layout of an organization trail.

``dest/AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<delivery
YYYYMMDDTHHmmZ>_<16 chars>.json.gz`` — one file per account, region and ~5-minute window, named and
foldered by its delivery time (a few minutes after its newest event, so events just before
midnight land in the next day's folder). Records inside a file are in no particular order.

>>> delivery_key("111122223333", "us-east-1", 1773197233, "AbCdEfGhIjKlMnOp")
'AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/03/11/111122223333_CloudTrail_us-east-1_20260311T0247Z_AbCdEfGhIjKlMnOp.json.gz'
"""

from __future__ import annotations

import gzip
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from trailkit.samples.identities import ORG_ID

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_encode = msgspec.json.Encoder().encode


def delivery_key(account: str, region: str, delivered: int, unique: str) -> str:
    """The object key of a log file delivered at epoch second ``delivered``."""
    d = datetime.fromtimestamp(delivered, UTC)
    return (f"AWSLogs/{ORG_ID}/{account}/CloudTrail/{region}/{d:%Y/%m/%d}/"
            f"{account}_CloudTrail_{region}_{d:%Y%m%dT%H%MZ}_{unique}.json.gz")


def encode_file(records: list[dict]) -> bytes:
    """``{"Records":[...]}`` as compact JSON (each record keeps its key order)."""
    return b'{"Records":[' + b",".join(_encode(r) for r in records) + b"]}"


def gzip_bytes(data: bytes, level: int = 6) -> bytes:
    """Deterministic gzip (mtime 0)."""
    return gzip.compress(data, compresslevel=level, mtime=0)


@dataclass
class GenerationSummary:
    """What a generation run wrote; ``str()`` gives a readable summary."""

    dest: Path
    events: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    first_event: str = ""
    last_event: str = ""
    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"Wrote {self.events:,} CloudTrail events in {self.files:,} files "
                 f"({self.bytes / 1e6:.1f} MB gzip) to {self.dest} in {self.seconds:.1f} s",
                 f"  events:   {self.first_event} .. {self.last_event}",
                 f"  accounts: {', '.join(self.accounts)}",
                 f"  regions:  {', '.join(self.regions)}"]
        if self.incidents:
            lines.append(f"  planted incidents: {', '.join(self.incidents)} (see trailkit.samples.INCIDENTS)")
        return "\n".join(lines)


def write_events(dest: Path, events: list[tuple[int, dict]], rng: random.Random, *, window: int = 300,
                 max_records: int = 400) -> tuple[int, int]:
    """Write ``(epoch, record)`` pairs as delivery files under ``dest``; returns (files, bytes)."""
    groups: dict[tuple[str, str, int], list[tuple[int, dict]]] = defaultdict(list)
    for t, rec in events:
        groups[(rec["recipientAccountId"], rec["awsRegion"], t // window)].append((t, rec))
    files = size = 0
    made: set[Path] = set()
    for (account, region, _), items in sorted(groups.items(), key=lambda kv: kv[0]):
        rng.shuffle(items)
        for i in range(0, len(items), max_records):
            chunk = items[i:i + max_records]
            newest = max(t for t, _ in chunk)
            delivered = newest + rng.randint(90, 480)
            key = delivery_key(account, region, delivered, "".join(rng.choices(ALNUM, k=16)))
            path = dest / key
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            data = gzip_bytes(encode_file([r for _, r in chunk]))
            path.write_bytes(data)
            files += 1
            size += len(data)
    return files, size
