"""Shared helpers for the benchmarks: test data, file lists, machine info.

Not part of the trailkit package; imported by ``bench_load.py`` and ``bench_query.py``
(run them from the repository root, see ``benchmarks/README.md``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import platform
import shutil
import struct
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
DATA_ROOT = BENCH / "data"
DEFAULT_SEED = 20260310
#: generate_bulk writes one file per account, region and 5-minute window (at most 250 events
#: each), so the days it spreads events over set how full the files are: one day per million
#: events gives ~100-200 events a file (2M: ~9,900 files), close to the 2M-event data set in
#: PERFORMANCE.md (7,808 files), instead of a week of tiny files that mostly measure per-file
#: overhead (200k over 7 days: 12,096 files of 17 events)
EVENTS_PER_DAY = 1_000_000


def auto_days(events: int) -> int:
    """Days to spread ``events`` over (one per million events, at least one).

    >>> auto_days(200_000), auto_days(2_000_000)
    (1, 2)
    """
    return max(1, events // EVENTS_PER_DAY)


def log_files(folder: str | os.PathLike) -> list[str]:
    """Every delivered log file under ``folder`` (``*.json.gz``, digests excluded), sorted.

    The same selection trailkit makes when it walks a folder of delivered logs.
    """
    out = []
    for d, _dirs, names in os.walk(folder):
        if "CloudTrail-Digest" in Path(d).parts:
            continue
        out.extend(os.path.join(d, n) for n in names if n.endswith(".json.gz"))
    return sorted(out)


def gzip_isize(path: str) -> int:
    """The uncompressed size stored in a gzip trailer (mod 2**32; fine for log files)."""
    with open(path, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        return struct.unpack("<I", fh.read(4))[0]


def describe_files(files: list[str]) -> dict:
    """Count, gzip bytes and JSON bytes of ``files``."""
    return {
        "files": len(files),
        "gz_bytes": sum(os.path.getsize(f) for f in files),
        "json_bytes": sum(gzip_isize(f) for f in files),
    }


def warm_page_cache(files: list[str]) -> float:
    """Read every file once (untimed for the benchmark) so all approaches start with a warm cache."""
    t = time.perf_counter()
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    return time.perf_counter() - t


def _generator_fingerprint() -> str:
    """A hash of the generator's source (``trailkit/samples/`` or ``trailkit/samples.py``)."""
    pkg = ROOT / "trailkit" / "samples"
    srcs = sorted(pkg.glob("*.py")) if pkg.is_dir() else [ROOT / "trailkit" / "samples.py"]
    srcs = [p for p in srcs if p.exists()]
    if not srcs:
        return "missing"
    h = hashlib.sha256()
    for p in srcs:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def _load_generate_bulk():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        mod = importlib.import_module("trailkit.samples")
    except ImportError as exc:
        raise SystemExit(
            f"trailkit/samples.py cannot be imported ({exc}); it provides generate_bulk(), which "
            f"makes the benchmark data. Pass --data FOLDER to benchmark existing logs instead."
        ) from exc
    gen = getattr(mod, "generate_bulk", None)
    if gen is None:
        raise SystemExit(
            "trailkit.samples has no generate_bulk() yet; it makes the benchmark data. "
            "Pass --data FOLDER to benchmark existing logs instead."
        )
    return gen


def manifest_path(events: int) -> Path:
    # beside the folder, not in it: a .json file inside would be read as a log by the loaders
    return DATA_ROOT / f"{events}.manifest.json"


def ensure_data(
    events: int, seed: int = DEFAULT_SEED, days: int | None = None, *, quiet: bool = False
) -> Path:
    """``benchmarks/data/<events>/``, generated with ``trailkit.samples.generate_bulk`` once.

    Existing data is reused when its manifest (events, seed, days, generator source hash,
    file count and sizes) still matches; otherwise it is generated again. ``days=None``
    picks :func:`auto_days`.
    """
    days = days or auto_days(events)
    dest = DATA_ROOT / str(events)
    mpath = manifest_path(events)
    fingerprint = _generator_fingerprint()
    if dest.is_dir() and mpath.exists():
        try:
            man = json.loads(mpath.read_text())
        except ValueError:
            man = {}
        files = log_files(dest)
        if (
            man.get("events") == events
            and man.get("seed") == seed
            and man.get("days") == days
            and man.get("generator") == fingerprint
            and man.get("files") == len(files)
            and man.get("gz_bytes") == sum(os.path.getsize(f) for f in files)
        ):
            if not quiet:
                print(f"[data] reusing {dest.relative_to(ROOT)} ({len(files)} files)", flush=True)
            return dest
    gen = _load_generate_bulk()
    tmp = DATA_ROOT / f"{events}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(dest, ignore_errors=True)
    mpath.unlink(missing_ok=True)
    tmp.mkdir(parents=True)
    print(
        f"[data] generating {events:,} events over {days} day(s) into {dest.relative_to(ROOT)} ...",
        flush=True,
    )
    t = time.perf_counter()
    returned = gen(tmp, events=events, seed=seed, days=days)
    took = time.perf_counter() - t
    tmp.rename(dest)
    files = log_files(dest)
    desc = describe_files(files)
    if dataclasses.is_dataclass(returned) and not isinstance(returned, type):
        returned = dataclasses.asdict(returned)
    returned = json.loads(json.dumps(returned, default=str))
    man = {
        "events": events,
        "seed": seed,
        "days": days,
        "generator": fingerprint,
        **desc,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generate_seconds": round(took, 1),
        "generate_bulk_returned": returned,
    }
    mpath.write_text(json.dumps(man, indent=1))
    print(
        f"[data] {desc['files']} files, {desc['gz_bytes'] / 1e6:.0f} MB gzip, "
        f"{desc['json_bytes'] / 1e6:.0f} MB JSON, generated in {took:.0f} s",
        flush=True,
    )
    return dest


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - not installed
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return float("nan")


def machine_info() -> dict[str, str]:
    """What the numbers were measured on."""
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{os.cpu_count()} cores ({_cpu_model()})",
        "memory": f"{_mem_total_gb():.0f} GB",
        "python": platform.python_version(),
        "polars": _version("polars"),
        "duckdb": _version("duckdb"),
        "pandas": _version("pandas"),
        "pyarrow": _version("pyarrow"),
        "msgspec": _version("msgspec"),
        "isal": _version("isal"),
        "numba": _version("numba"),
        "deflate": _version("deflate"),
        "trailkit": _trailkit_version(),
        "load average at start": " ".join(f"{x:.2f}" for x in load),
    }


def _trailkit_version() -> str:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        import trailkit

        return trailkit.__version__
    except Exception:  # noqa: BLE001
        return "?"


def busy_warning() -> str | None:
    """A warning when the machine is not quiet (timings would be unreliable)."""
    one_min = os.getloadavg()[0]
    if one_min > 0.5:
        return (
            f"load average {one_min:.2f} at start: other work is running, so these timings "
            f"are not reliable. Re-run on a quiet machine."
        )
    return None
