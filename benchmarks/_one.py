"""Run ONE load approach once, in this fresh process, and print one ``RESULT {json}`` line.

Used by ``bench_load.py``; each run is its own process so that memory and caches do not
carry over. Imports happen before the clock starts; the clock covers finding the files,
reading, parsing and building the final in-memory DataFrame.

    python benchmarks/_one.py APPROACH DATA_DIR [--cache-dir DIR]

APPROACH is one of: trailkit-cold, trailkit-cache-write, trailkit-warm, pandas, pandas-flat,
duckdb.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository root: trailkit need not be installed
sys.path.insert(1, str(HERE))

from _common import gzip_isize, log_files  # noqa: E402

#: the columns every approach must produce (trailkit produces these and more)
COMMON = [
    "event_time",
    "event_id",
    "event_name",
    "event_source",
    "event_type",
    "aws_region",
    "recipient_account_id",
    "source_ip",
    "user_agent",
    "error_code",
    "error_message",
    "success",
    "read_only",
    "identity_type",
    "principal_id",
    "principal_arn",
    "account_id",
    "access_key_id",
    "user_name",
    "invoked_by",
    "session_name",
    "role_arn",
    "role_name",
    "issuer_type",
    "mfa_authenticated",
    "source_identity",
    "request_parameters",
    "response_elements",
    "additional_event_data",
    "resources",
    "source_file",
]

# nested blocks kept as JSON text (their shapes differ per API)
RAW_BLOCKS = {
    "requestParameters": "request_parameters",
    "responseElements": "response_elements",
    "additionalEventData": "additional_event_data",
    "resources": "resources",
}


def _rss_now() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------------------------------
# trailkit


def _instrument_trailkit() -> dict[str, int]:
    """Count how often trailkit's loader leaves its fast path (private hooks; best effort)."""
    from trailkit import load

    counts = {"fast_batches": 0, "fast_batch_failed": 0, "careful_files": 0}
    fast, careful = getattr(load, "_fast_batch", None), getattr(load, "_careful_frame", None)
    if fast is not None:

        def fast_batch(chunks, *a, **k):
            out = fast(chunks, *a, **k)
            counts["fast_batches"] += 1
            if out[0] is None:
                counts["fast_batch_failed"] += 1
            return out

        load._fast_batch = fast_batch
    if careful is not None:

        def careful_frame(chunk, *a, **k):
            counts["careful_files"] += 1
            return careful(chunk, *a, **k)

        load._careful_frame = careful_frame
    return counts


def setup_trailkit():
    import polars  # noqa: F401

    import trailkit
    from trailkit import load

    return trailkit, load


def run_trailkit(mods, data_dir: str, cache: bool, cache_dir: str | None):
    trailkit, _load = mods
    return trailkit.read_events(
        data_dir, cache=cache, cache_dir=cache_dir, progress=False, on_error="ignore"
    )


# ------------------------------------------------------------------------------------------
# pandas: what most notebooks do today


def setup_pandas():
    import pandas as pd

    return pd


def _pandas_finish(pd, df):
    """Name the columns like trailkit and parse the event time (vectorised pandas)."""

    def col(name):
        return df[name] if name in df.columns else pd.Series(None, index=df.index, dtype=object)

    def nonempty(name):
        v = col(name)
        return v.where(v != "")

    err, msg = nonempty("errorCode"), nonempty("errorMessage")
    arn = col("userIdentity.arn")
    mfa = (
        col("userIdentity.sessionContext.attributes.mfaAuthenticated").astype("string").str.lower()
        == "true"
    )
    mfa_used = (
        col("additionalEventData").astype("string").str.extract(r'"MFAUsed"\s*:\s*"([^"]*)"')[0]
    )
    login = (col("eventName") == "ConsoleLogin") & mfa_used.notna()
    mfa = mfa.where(~login, mfa_used.str.lower() == "yes")
    out = pd.DataFrame(
        {
            "event_time": pd.to_datetime(col("eventTime"), utc=True, format="ISO8601"),
            "event_id": col("eventID"),
            "event_name": col("eventName"),
            "event_source": col("eventSource"),
            "event_type": col("eventType"),
            "aws_region": col("awsRegion"),
            "recipient_account_id": col("recipientAccountId"),
            "source_ip": col("sourceIPAddress"),
            "user_agent": col("userAgent"),
            "error_code": err,
            "error_message": msg,
            "success": err.isna() & msg.isna(),
            "read_only": col("readOnly"),
            "identity_type": col("userIdentity.type"),
            "principal_id": col("userIdentity.principalId"),
            "principal_arn": arn,
            "account_id": col("userIdentity.accountId"),
            "access_key_id": nonempty("userIdentity.accessKeyId"),
            "user_name": col("userIdentity.userName"),
            "invoked_by": col("userIdentity.invokedBy"),
            "session_name": arn.where(col("userIdentity.type") == "AssumedRole")
            .str.rsplit("/", n=1)
            .str[-1],
            "role_arn": col("userIdentity.sessionContext.sessionIssuer.arn"),
            "role_name": col("userIdentity.sessionContext.sessionIssuer.userName"),
            "issuer_type": col("userIdentity.sessionContext.sessionIssuer.type"),
            "mfa_authenticated": mfa,
            "source_identity": col("userIdentity.sessionContext.sourceIdentity"),
            **{new: col(old) for old, new in RAW_BLOCKS.items()},
            "source_file": col("source_file"),
        }
    )
    return out


def run_pandas(pd, data_dir: str):
    """json.load each file, keep the nested blocks as JSON text, json_normalize the rest."""
    frames = []
    dumps = json.dumps
    for path in log_files(data_dir):
        with gzip.open(path, "rb") as fh:
            records = json.load(fh)["Records"]
        for r in records:
            for key in RAW_BLOCKS:
                v = r.get(key)
                if v is not None:
                    r[key] = dumps(v)
        df = pd.json_normalize(records)
        df["source_file"] = path
        frames.append(df)
    return _pandas_finish(pd, pd.concat(frames, ignore_index=True))


def run_pandas_flat(pd, data_dir: str):
    """The plain notebook version: json_normalize flattens every nested block into columns.

    Not the same output (requestParameters becomes thousands of sparse columns instead of
    JSON text); kept to show what the common notebook code costs.
    """
    frames = []
    for path in log_files(data_dir):
        with gzip.open(path, "rb") as fh:
            records = json.load(fh)["Records"]
        df = pd.json_normalize(records)
        df["source_file"] = path
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["eventTime"] = pd.to_datetime(df["eventTime"], utc=True, format="ISO8601")
    return df


# ------------------------------------------------------------------------------------------
# DuckDB: read_json with an explicit schema and records=true, unnest, to polars


S = "VARCHAR"
RECORD_TYPE = (
    "STRUCT("
    f"eventVersion {S}, "
    "userIdentity STRUCT("
    f"type {S}, principalId {S}, arn {S}, accountId {S}, accessKeyId {S}, userName {S}, "
    f"invokedBy {S}, identityProvider {S}, credentialId {S}, "
    f"onBehalfOf STRUCT(userId {S}, identityStoreArn {S}), "
    "sessionContext STRUCT("
    f"attributes STRUCT(mfaAuthenticated {S}, creationDate {S}), "
    f"sessionIssuer STRUCT(type {S}, principalId {S}, arn {S}, accountId {S}, userName {S}), "
    f"sourceIdentity {S})), "
    "eventTime TIMESTAMPTZ, "
    f"eventSource {S}, eventName {S}, awsRegion {S}, sourceIPAddress {S}, userAgent {S}, "
    f"errorCode {S}, errorMessage {S}, "
    "requestParameters JSON, responseElements JSON, additionalEventData JSON, "
    f"requestID {S}, eventID {S}, readOnly {S}, resources JSON, eventType {S}, "
    f"managementEvent {S}, recipientAccountId {S}, eventCategory {S}"
    ")[]"
)

DUCKDB_SQL = """
SELECT
  r.eventTime AS event_time,
  r.eventID AS event_id,
  r.eventName AS event_name,
  r.eventSource AS event_source,
  r.eventType AS event_type,
  r.awsRegion AS aws_region,
  r.recipientAccountId AS recipient_account_id,
  r.sourceIPAddress AS source_ip,
  r.userAgent AS user_agent,
  nullif(r.errorCode, '') AS error_code,
  nullif(r.errorMessage, '') AS error_message,
  coalesce(r.errorCode, '') = '' AND coalesce(r.errorMessage, '') = '' AS success,
  TRY_CAST(r.readOnly AS BOOLEAN) AS read_only,
  r.userIdentity.type AS identity_type,
  r.userIdentity.principalId AS principal_id,
  r.userIdentity.arn AS principal_arn,
  r.userIdentity.accountId AS account_id,
  nullif(r.userIdentity.accessKeyId, '') AS access_key_id,
  r.userIdentity.userName AS user_name,
  r.userIdentity.invokedBy AS invoked_by,
  CASE WHEN r.userIdentity.type = 'AssumedRole'
       THEN split_part(r.userIdentity.arn, '/', -1) END AS session_name,
  r.userIdentity.sessionContext.sessionIssuer.arn AS role_arn,
  r.userIdentity.sessionContext.sessionIssuer.userName AS role_name,
  r.userIdentity.sessionContext.sessionIssuer.type AS issuer_type,
  CASE WHEN r.eventName = 'ConsoleLogin'
            AND json_extract_string(r.additionalEventData, '$.MFAUsed') IS NOT NULL
       THEN lower(json_extract_string(r.additionalEventData, '$.MFAUsed')) = 'yes'
       ELSE lower(r.userIdentity.sessionContext.attributes.mfaAuthenticated) = 'true'
  END AS mfa_authenticated,
  r.userIdentity.sessionContext.sourceIdentity AS source_identity,
  CAST(r.requestParameters AS VARCHAR) AS request_parameters,
  CAST(r.responseElements AS VARCHAR) AS response_elements,
  CAST(r.additionalEventData AS VARCHAR) AS additional_event_data,
  CAST(r.resources AS VARCHAR) AS resources,
  filename AS source_file
FROM (
  SELECT unnest(Records) AS r, filename
  FROM read_json($files, columns = {'Records': '%s'}, records = true,
                 format = '{fmt}', filename = true,
                 maximum_object_size = {max_object})
)
""".replace("%s", RECORD_TYPE)


def setup_duckdb():
    import duckdb
    import polars  # noqa: F401 - .pl() needs it; import before the clock

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SELECT 1").fetchall()  # load the json / icu extensions before the clock
    return con


def duckdb_options(data_dir: str) -> dict:
    """Reader options that depend on the files (worked out before the clock starts).

    Delivered log files are one compact JSON object per file, so ``newline_delimited`` is
    right and fastest; pretty-printed files need ``auto``. ``maximum_object_size`` must hold
    the largest file.
    """
    files = log_files(data_dir)
    with gzip.open(files[0], "rb") as fh:
        one_line = b"\n" not in fh.read().rstrip(b"\n")
    biggest = max(gzip_isize(f) for f in files)
    return {
        "fmt": "newline_delimited" if one_line else "auto",
        "max_object": max(16 << 20, 1 << int(biggest * 1.25).bit_length()),
    }


def run_duckdb(con, data_dir: str, opts: dict):
    files = log_files(data_dir)
    sql = DUCKDB_SQL.replace("{fmt}", opts["fmt"]).replace("{max_object}", str(opts["max_object"]))
    return con.sql(sql, params={"files": files}).pl()


# ------------------------------------------------------------------------------------------


def _summary(df) -> dict:
    """Row count and a few cheap checks that the approaches built the same thing."""
    mod = type(df).__module__
    if mod.startswith("polars"):
        import polars as pl

        cols = df.columns
        out = {
            "rows": df.height,
            "columns": len(cols),
            "event_time_dtype": str(df.schema.get("event_time", df.schema.get("eventTime"))),
            "distinct_event_ids": df.select(pl.col("event_id").n_unique()).item()
            if "event_id" in cols
            else None,
        }
        if "request_parameters" in cols:
            out["request_parameters_nonnull"] = df.select(
                pl.col("request_parameters").count()
            ).item()
    else:
        cols = list(df.columns)
        et = "event_time" if "event_time" in cols else "eventTime"
        eid = "event_id" if "event_id" in cols else "eventID"
        out = {
            "rows": len(df),
            "columns": len(cols),
            "event_time_dtype": str(df[et].dtype),
            "distinct_event_ids": int(df[eid].nunique()),
        }
        if "request_parameters" in cols:
            out["request_parameters_nonnull"] = int(df["request_parameters"].notna().sum())
    if "eventTime" not in cols:  # pandas-flat keeps CloudTrail's names on purpose
        out["missing_common_columns"] = [c for c in COMMON if c not in cols]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("approach")
    ap.add_argument("data_dir")
    ap.add_argument("--cache-dir")
    a = ap.parse_args()

    counts = None
    if a.approach.startswith("trailkit"):
        mods = setup_trailkit()
        counts = _instrument_trailkit()
        cache = a.approach != "trailkit-cold"

        def job():
            return run_trailkit(mods, a.data_dir, cache, a.cache_dir)
    elif a.approach in ("pandas", "pandas-flat"):
        pd = setup_pandas()
        fn = run_pandas if a.approach == "pandas" else run_pandas_flat

        def job():
            return fn(pd, a.data_dir)
    elif a.approach == "duckdb":
        con = setup_duckdb()
        opts = duckdb_options(a.data_dir)

        def job():
            return run_duckdb(con, a.data_dir, opts)
    else:
        raise SystemExit(f"unknown approach {a.approach!r}")

    gc.collect()
    rss_base = _rss_now()
    t0 = time.perf_counter()
    df = job()
    seconds = time.perf_counter() - t0
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # any worker processes the approach started (trailkit may spawn one); added, so an upper bound
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024

    result = {
        "approach": a.approach,
        "seconds": seconds,
        "peak_rss": peak_self + peak_children,
        "rss_after_imports": rss_base,
        **_summary(df),
    }
    if counts is not None:
        from trailkit.load import last_report

        rep = last_report()
        result["trailkit"] = {
            **counts,
            "problems": len(rep.problems),
            "files_read": rep.files_read,
            "from_cache": rep.from_cache,
        }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
