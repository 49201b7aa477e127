"""Loader benchmark: trailkit (cold, cold + cache write, warm) vs pandas and DuckDB.

Every run is a fresh process (``benchmarks/_one.py``) on the same generated files, with the
page cache warm and imports outside the clock; the median of ``--repeat`` runs is reported
with the largest peak RSS seen. See ``benchmarks/README.md``.

    python benchmarks/bench_load.py --events 200000 2000000 --repeat 3 \\
        --out benchmarks/results/latest.md --readme benchmarks/README.md

Run it on a quiet machine: the numbers mean nothing while other work shares the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BENCH,
    DATA_ROOT,
    DEFAULT_SEED,
    ROOT,
    busy_warning,
    describe_files,
    ensure_data,
    log_files,
    machine_info,
    warm_page_cache,
)

#: approach id -> label in the table
APPROACHES: dict[str, str] = {
    "trailkit-cold": "trailkit `read_events`, cold (no cache)",
    "trailkit-cache-write": "trailkit `read_events`, cold + cache (batches written as read; the answer on a background thread)",
    "trailkit-warm": "trailkit `read_events`, warm (memory-maps its cached answer)",
    "duckdb": "DuckDB `read_json` (explicit schema, records=true) + unnest → polars",
    "pandas": "pandas `json.load` + `json_normalize`",
    "pandas-flat": "pandas `json_normalize`, every block flattened (not the same output)",
}
DEFAULT_APPROACHES = [
    "trailkit-cold",
    "trailkit-cache-write",
    "trailkit-warm",
    "duckdb",
    "pandas",
    "pandas-flat",
]
PANDAS = ("pandas", "pandas-flat")
ONE = BENCH / "_one.py"
START, END = "<!-- bench_load:start -->", "<!-- bench_load:end -->"


def run_child(approach: str, data_dir: Path, cache_dir: Path | None, timeout: float) -> dict:
    """Run one approach once in a fresh interpreter; its RESULT line as a dict (or an error)."""
    cmd = [sys.executable, str(ONE), approach, str(data_dir)]
    if cache_dir is not None:
        cmd += ["--cache-dir", str(cache_dir)]
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"approach": approach, "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
            res["wall"] = wall
            return res
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    if proc.returncode < 0:
        tail = f"killed by signal {-proc.returncode} (out of memory?); {tail}"
    return {"approach": approach, "error": tail[:300]}


def _fresh_dir(root: Path, tag: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=root))


def measure_size(data_dir: Path, events: int, approaches: list[str], args) -> dict:
    """All runs of every approach on one data set (round-robin over approaches per repeat)."""
    files = log_files(data_dir)
    if not files:
        raise SystemExit(f"{data_dir}: no *.json.gz log files found.")
    desc = describe_files(files)
    took = warm_page_cache(files)
    print(
        f"[{events:,}] {desc['files']} files, {desc['gz_bytes'] / 1e6:.0f} MB gzip, "
        f"{desc['json_bytes'] / 1e6:.0f} MB JSON; page cache warmed in {took:.1f} s",
        flush=True,
    )
    runs: dict[str, list[dict]] = {a: [] for a in approaches}
    skipped = {a for a in approaches if a in PANDAS and events > args.skip_pandas_above}
    cache_root = Path(args.cache_root)
    warm_dir = None
    if "trailkit-warm" in approaches:
        warm_dir = _fresh_dir(cache_root, "warm")
        print(f"[{events:,}] filling the warm cache (untimed) ...", flush=True)
        fill = run_child("trailkit-cache-write", data_dir, warm_dir, args.timeout)
        if "error" in fill:
            print(f"  cache fill failed: {fill['error']}", flush=True)
    try:
        for rep in range(args.repeat):
            for a in approaches:
                if a in skipped:
                    continue
                cdir = None
                if a == "trailkit-cache-write":
                    cdir = _fresh_dir(cache_root, "write")
                elif a == "trailkit-warm":
                    cdir = warm_dir
                res = run_child(a, data_dir, cdir, args.timeout)
                if a == "trailkit-cache-write" and cdir is not None:
                    shutil.rmtree(cdir, ignore_errors=True)
                runs[a].append(res)
                if "error" in res:
                    print(
                        f"[{events:,}] {a} run {rep + 1}/{args.repeat}: FAILED: {res['error']}",
                        flush=True,
                    )
                else:
                    print(
                        f"[{events:,}] {a} run {rep + 1}/{args.repeat}: {res['seconds']:.2f} s, "
                        f"peak {res['peak_rss'] / 1e9:.2f} GB, {res['rows']:,} rows",
                        flush=True,
                    )
    finally:
        if warm_dir is not None:
            shutil.rmtree(warm_dir, ignore_errors=True)
    return {
        "events": events,
        "data": str(data_dir),
        **desc,
        "runs": runs,
        "skipped": sorted(skipped),
    }


def summarise(size: dict) -> dict[str, dict]:
    """approach -> median seconds, rows, max peak RSS (bytes), base RSS; errors kept."""
    out: dict[str, dict] = {}
    for a, runs in size["runs"].items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            if runs:
                out[a] = {"error": runs[0]["error"]}
            continue
        out[a] = {
            "seconds": statistics.median(r["seconds"] for r in ok),
            "all_seconds": [round(r["seconds"], 3) for r in ok],
            "rows": ok[0]["rows"],
            "peak_rss": max(r["peak_rss"] for r in ok),
            "rss_after_imports": statistics.median(r["rss_after_imports"] for r in ok),
            "failed_runs": len(runs) - len(ok),
            "runs": ok,
        }
    return out


def extrapolate(summaries: list[tuple[dict, dict]], approach: str, events: int) -> dict | None:
    """Scale the largest measured run of ``approach`` linearly to ``events``."""
    best = None
    for size, summ in summaries:
        s = summ.get(approach)
        if s and "seconds" in s and (best is None or size["events"] > best[0]):
            best = (size["events"], s)
    if best is None:
        return None
    n, s = best
    rows = s["rows"] or n
    factor = events / rows
    base = s["rss_after_imports"]
    return {
        "seconds": s["seconds"] * factor,
        "peak_rss": base + (s["peak_rss"] - base) * factor,
        "rows": events,
        "from_events": n,
        "extrapolated": True,
    }


def _fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def _fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.0f}k"
    return f"{x:.0f}"


def _fmt_s(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def _ratio(ref: dict | None, s: dict) -> str:
    if not ref or "seconds" not in ref or "seconds" not in s:
        return "–"
    r = ref["seconds"] / s["seconds"]
    txt = f"{r:.1f}×" if r >= 1 else f"{r:.2f}×"
    return f"~{txt}" if ref.get("extrapolated") or s.get("extrapolated") else txt


def render(info: dict[str, str], sizes: list[dict], args, warnings: list[str]) -> str:
    lines = ["### Loader benchmark", ""]
    lines.append(
        "Each approach builds one in-memory DataFrame from the same gzipped CloudTrail files "
        "(event time as a datetime, the main fields, the identity fields, `requestParameters` "
        f"and the other nested blocks as JSON text). Fresh process per run, page cache warm, "
        f"imports not timed; median of {args.repeat} run{'s' if args.repeat > 1 else ''}, "
        "largest peak RSS. "
        "**vs pandas / vs DuckDB** = their time ÷ this approach's time (higher is faster)."
    )
    lines.append("")
    summaries = [(size, summarise(size)) for size in sizes]
    for size, summ in summaries:
        n = size["events"]
        lines.append(
            f"#### {n:,} events ({size['files']:,} files, {size['gz_bytes'] / 1e6:,.0f} MB gzip, "
            f"{size['json_bytes'] / 1e6:,.0f} MB JSON)"
        )
        lines.append("")
        lines.append(
            "| approach | events | seconds | events/s | peak RSS GB | vs pandas | vs DuckDB |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        rows = dict(summ)
        for a in size["skipped"]:
            ex = extrapolate(summaries, a, n)
            rows[a] = ex if ex else {"error": "skipped (no smaller run to extrapolate from)"}
        pandas_ref = rows.get("pandas")
        duck_ref = rows.get("duckdb")
        for a in size["runs"]:
            s = rows.get(a)
            if s is None:
                continue
            label = APPROACHES[a]
            if "error" in s:
                lines.append(f"| {label} | {n:,} | {s['error']} | | | | |")
                continue
            if s.get("extrapolated"):
                gb = s["peak_rss"] / 1e9
                need = f"{gb:.0f}" if gb >= 10 else f"{gb:.1f}"
                lines.append(
                    f"| {label} — skipped: would need ~{need} GB | {n:,} | "
                    f"~{_fmt_s(s['seconds'])} (extrapolated) | ~{_fmt_rate(n / s['seconds'])} | "
                    f"~{gb:.1f} (extrapolated from {s['from_events']:,}) | "
                    f"{_ratio(pandas_ref, s)} | {_ratio(duck_ref, s)} |"
                )
                continue
            lines.append(
                f"| {label} | {s['rows']:,} | {_fmt_s(s['seconds'])} | "
                f"{_fmt_rate(s['rows'] / s['seconds'])} | {s['peak_rss'] / 1e9:.2f} | "
                f"{_ratio(pandas_ref, s)} | {_ratio(duck_ref, s)} |"
            )
        lines.append("")
        counts = {a: s["rows"] for a, s in summ.items() if "rows" in s}
        if counts:
            agree = len(set(counts.values())) == 1
            lines.append(
                "Row counts: "
                + ", ".join(f"{a} {c:,}" for a, c in counts.items())
                + (" — agree." if agree else " — **DISAGREE**.")
            )
            if not agree:
                warnings.append(f"{n:,} events: row counts differ between approaches: {counts}")
        lines.append("")
    lines.append("Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".")
    lines.append("")
    return "\n".join(lines)


def details(sizes: list[dict], warnings: list[str]) -> str:
    """Per-run numbers and trailkit's own account of how it loaded (fast path or not)."""
    out = ["<details><summary>All runs</summary>", ""]
    for size in sizes:
        summ = summarise(size)
        out.append(f"**{size['events']:,} events** (`{size['data']}`)")
        out.append("")
        for a, s in summ.items():
            if "error" in s:
                out.append(f"- {a}: failed: {s['error']}")
                continue
            extra = ""
            tk = s["runs"][0].get("trailkit")
            if tk:
                extra = (
                    f"; trailkit: {tk['files_read']} files, {tk['from_cache']} from cache, "
                    f"{tk['fast_batches']} fast batches ({tk['fast_batch_failed']} fell back), "
                    f"{tk['careful_files']} files parsed record by record, "
                    f"{tk['problems']} problems reported"
                )
                slow = any(
                    r["trailkit"]["fast_batch_failed"] or r["trailkit"]["careful_files"]
                    for r in s["runs"]
                )
                if slow:
                    warnings.append(
                        f"{size['events']:,} events, {a}: trailkit left its fast path "
                        f"({tk['fast_batch_failed']} batches fell back, "
                        f"{tk['careful_files']} files parsed record by record)."
                    )
                if a == "trailkit-warm" and tk["from_cache"] != tk["files_read"]:
                    warnings.append(
                        f"{size['events']:,} events: the warm run read only "
                        f"{tk['from_cache']} of {tk['files_read']} files from the cache."
                    )
            missing = s["runs"][0].get("missing_common_columns")
            if missing:
                extra += f"; missing columns: {', '.join(missing)}"
            out.append(
                f"- {a}: runs {s['all_seconds']} s; rows {s['rows']:,}; "
                f"{s['runs'][0]['columns']} columns; event_time {s['runs'][0]['event_time_dtype']}; "
                f"{s['runs'][0]['distinct_event_ids']:,} distinct event ids; "
                f"imports {s['rss_after_imports'] / 1e9:.2f} GB RSS{extra}"
            )
        out.append("")
    out.append("</details>")
    out.append("")
    return "\n".join(out)


def update_readme(
    path: Path, table: str, start: str = START, end: str = END, after: str | None = None
) -> None:
    """Replace what is between the ``start`` and ``end`` markers in ``path`` with ``table``.

    Without markers, a line holding only ``BENCHMARK-TABLE`` (the main README's placeholder)
    becomes them, or they are added right after the text ``after`` when that is present.
    """
    text = path.read_text()
    if start not in text or end not in text:
        if "\nBENCHMARK-TABLE\n" in text:
            text = text.replace("\nBENCHMARK-TABLE\n", f"\n{start}\n{end}\n", 1)
        elif after and after in text:
            text = text.replace(after, f"{after}\n\n{start}\n{end}", 1)
    if start not in text or end not in text:
        raise SystemExit(f"{path}: no {start} ... {end} markers; add them where the table belongs.")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{table.rstrip()}\n{end}{tail}")
    print(f"[readme] table written into {path}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--events",
        type=int,
        nargs="+",
        default=[200_000, 2_000_000],
        help="data sizes to generate and measure (default: 200000 2000000)",
    )
    ap.add_argument(
        "--data",
        type=Path,
        action="append",
        help="measure an existing folder of logs instead of generated data (repeatable)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per approach (median)")
    ap.add_argument(
        "--skip-pandas-above",
        type=int,
        default=500_000,
        help="skip pandas above this many events and extrapolate (default 500000)",
    )
    ap.add_argument(
        "--approaches",
        default=",".join(DEFAULT_APPROACHES),
        help=f"comma-separated, from: {', '.join(APPROACHES)}",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument(
        "--days",
        type=int,
        help="days generate_bulk spreads each size over (default: one per million events)",
    )
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "latest.md")
    ap.add_argument(
        "--readme",
        type=Path,
        action="append",
        help=f"also put the table between {START} and {END} in this file (repeatable)",
    )
    ap.add_argument(
        "--cache-root",
        default=str(DATA_ROOT / "_cache"),
        help="where trailkit's temporary caches go (same disk as the data)",
    )
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run before giving up")
    args = ap.parse_args(argv)

    approaches = [a.strip() for a in args.approaches.split(",") if a.strip()]
    bad = [a for a in approaches if a not in APPROACHES]
    if bad:
        raise SystemExit(f"unknown approach {bad}; choose from {', '.join(APPROACHES)}")
    # the compiled scanner's machine code is cached on disk after its first compile (about
    # 10 s, done once per install by ./run); make sure the timed runs do not pay for it
    subprocess.run([sys.executable, "-m", "trailkit._scan"], check=True)
    warnings: list[str] = []
    busy = busy_warning()
    if busy:
        print(f"WARNING: {busy}", flush=True)
        warnings.append(busy)
    info = machine_info()
    t0 = time.perf_counter()
    sizes = []
    if args.data:
        targets = [(d, None) for d in args.data]
    else:
        targets = [(None, n) for n in sorted(args.events)]
    for folder, n in targets:
        data_dir = folder if folder is not None else ensure_data(n, args.seed, args.days)
        if n is None:  # count events once (untimed) for an existing folder
            n = _count_events(data_dir)
        sizes.append(measure_size(data_dir, n, approaches, args))

    extra = details(sizes, warnings)
    report = render(info, sizes, args, warnings)
    if warnings:
        report += "\n" + "\n\n".join(f"> **Note:** {w}" for w in dict.fromkeys(warnings)) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n" + extra)
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {"machine": info, "sizes": sizes, "warnings": list(dict.fromkeys(warnings))}, indent=1
        )
    )
    print()
    print(report)
    print(extra)
    print(f"[done] {time.perf_counter() - t0:.0f} s; written to {args.out}", flush=True)
    for path in args.readme or []:
        update_readme(path, report)


def _count_events(folder: Path) -> int:
    import gzip

    n = 0
    for f in log_files(folder):
        with gzip.open(f, "rb") as fh:
            n += len(json.load(fh)["Records"])
    return n


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
