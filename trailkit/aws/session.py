"""Sessions, clients, errors and small helpers shared by everything in :mod:`trailkit.aws`.

Every AWS call trailkit makes goes through :func:`client`, which takes the caller's
``boto3.Session`` (or builds one from the normal credential chain: environment, profiles,
SSO, instance role) and points it at a custom endpoint when one is configured:

* a session made by :func:`get_session` with ``endpoint_url=`` (an :class:`EndpointSession`,
  which applies the endpoint to every client it makes), or
* the environment variable ``TRAILKIT_AWS_ENDPOINT_URL`` (botocore's own ``AWS_ENDPOINT_URL``
  works too).

That is how the tests and the demo notebook talk to a local moto server.

Examples
--------
>>> from trailkit.aws.session import to_utc
>>> to_utc("2026-03-10", "start").isoformat()
'2026-03-10T00:00:00+00:00'
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from trailkit.errors import InputError, TrailkitError, require
from trailkit.times import to_utc  # noqa: F401 - re-exported for aws modules

if TYPE_CHECKING:  # pragma: no cover
    import boto3

#: environment variable naming an endpoint (e.g. a local moto server) for every AWS client
ENDPOINT_ENV = "TRAILKIT_AWS_ENDPOINT_URL"

#: codes AWS uses for "slow down"
THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "RequestThrottledException",
    }
)
#: codes AWS uses for "you may not do this"
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "Client.UnauthorizedOperation",
        "AuthorizationError",
        "403",
        "Forbidden",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)


class AwsError(TrailkitError):
    """An AWS call failed; the message names the resource, the API call and what to do."""


class AwsAccessDenied(AwsError, PermissionError):
    """AWS refused a call; the message names the missing IAM permission and the resource."""


class AwsNotFound(AwsError, InputError):
    """A bucket, trail, group or similar named by the caller does not exist."""


class NoLogsFound(AwsError, InputError):
    """A bucket holds no CloudTrail log files for the requested window, accounts and regions."""


def _endpoint_from_env() -> str | None:
    return os.environ.get(ENDPOINT_ENV) or None


def _boto3():
    return require("boto3", "aws")


def _endpoint_session_class():
    """Build (once) the boto3.Session subclass that pins an endpoint on every client."""
    global _EndpointSession
    if _EndpointSession is None:
        boto3 = _boto3()

        class EndpointSession(boto3.Session):
            """A ``boto3.Session`` whose clients and resources default to ``endpoint_url``."""

            def __init__(self, *args: Any, endpoint_url: str | None = None, **kwargs: Any):
                super().__init__(*args, **kwargs)
                self.endpoint_url = endpoint_url

            def client(self, *args: Any, **kwargs: Any):  # noqa: D102 - same as boto3's
                if self.endpoint_url and not kwargs.get("endpoint_url"):
                    kwargs["endpoint_url"] = self.endpoint_url
                return super().client(*args, **kwargs)

            def resource(self, *args: Any, **kwargs: Any):  # noqa: D102 - same as boto3's
                if self.endpoint_url and not kwargs.get("endpoint_url"):
                    kwargs["endpoint_url"] = self.endpoint_url
                return super().resource(*args, **kwargs)

            def __repr__(self) -> str:
                return f"EndpointSession(region_name={self.region_name!r}, endpoint_url={self.endpoint_url!r})"

        _EndpointSession = EndpointSession
    return _EndpointSession


_EndpointSession: Any = None


def get_session(
    session: boto3.Session | None = None,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    **credentials: Any,
) -> boto3.Session:
    """Return ``session`` or a new ``boto3.Session`` from the normal credential chain.

    Parameters
    ----------
    session
        An existing session: returned unchanged.
    profile, region
        Profile name and default region for a new session (``None``: boto3's defaults, i.e.
        ``AWS_PROFILE`` / ``AWS_DEFAULT_REGION`` / the config file, SSO, instance role).
    endpoint_url
        Send every client of the new session to this endpoint (a local moto server, a VPC
        endpoint). Default: ``$TRAILKIT_AWS_ENDPOINT_URL`` when set.
    **credentials
        Passed to ``boto3.Session`` (``aws_access_key_id``, ``aws_secret_access_key``,
        ``aws_session_token``).

    Examples
    --------
    >>> s = get_session(region="eu-west-1", endpoint_url="http://127.0.0.1:5000",
    ...                 aws_access_key_id="testing", aws_secret_access_key="testing")
    >>> s.region_name, s.endpoint_url
    ('eu-west-1', 'http://127.0.0.1:5000')
    """
    if session is not None:
        return session
    endpoint_url = endpoint_url or _endpoint_from_env()
    kwargs: dict[str, Any] = dict(credentials)
    if profile:
        kwargs["profile_name"] = profile
    if region:
        kwargs["region_name"] = region
    if endpoint_url:
        return _endpoint_session_class()(endpoint_url=endpoint_url, **kwargs)
    return _boto3().Session(**kwargs)


def region_of(session: boto3.Session | None, default: str = "us-east-1") -> str:
    """The session's default region, or ``default`` when it has none.

    >>> region_of(None, default="eu-west-1")
    'eu-west-1'
    """
    name = getattr(session, "region_name", None) if session is not None else None
    return name or default


def client(
    service: str,
    session: boto3.Session | None = None,
    *,
    region: str | None = None,
    retries: int | None = None,
    config: Any = None,
):
    """A boto3 client for ``service``, honouring the session's or the environment's endpoint.

    Parameters
    ----------
    service
        ``"s3"``, ``"cloudtrail"``, ``"ec2"``, ...
    session
        The caller's session (default: a new one from the credential chain).
    region
        Region for the client (default: the session's region, else ``us-east-1``).
    retries
        Total attempts for botocore's standard retry mode (``1`` turns botocore's own retries
        off, for callers that pace and retry themselves). Default: botocore's default.
    config
        A ``botocore.config.Config`` merged on top.

    Examples
    --------
    >>> import os
    >>> c = client("s3", get_session(region="eu-west-1", endpoint_url="http://127.0.0.1:5000",
    ...            aws_access_key_id="testing", aws_secret_access_key="testing"))
    >>> c.meta.endpoint_url, c.meta.region_name
    ('http://127.0.0.1:5000', 'eu-west-1')
    """
    from botocore.config import Config

    session = get_session(session)
    cfg = Config(user_agent_extra="trailkit")
    if retries is not None:
        cfg = cfg.merge(Config(retries={"total_max_attempts": retries, "mode": "standard"}))
    if config is not None:
        cfg = cfg.merge(config)
    kwargs: dict[str, Any] = {"region_name": region or region_of(session), "config": cfg}
    endpoint = getattr(session, "endpoint_url", None) or _endpoint_from_env()
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    return session.client(service, **kwargs)


def uses_custom_endpoint(session: Any) -> bool:
    """True when clients of ``session`` go to a custom endpoint (tests, demo).

    >>> uses_custom_endpoint(None) in (True, False)
    True
    """
    return bool(getattr(session, "endpoint_url", None) or _endpoint_from_env())


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else).

    >>> error_code(ValueError("x"))
    ''
    """
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    code = str(response.get("Error", {}).get("Code", "") or "")
    if not code:
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(status or "")
    return code


def error_message(exc: BaseException) -> str:
    """The AWS error message of a botocore ``ClientError``, else ``str(exc)``.

    >>> error_message(ValueError("boom"))
    'boom'
    """
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        msg = response.get("Error", {}).get("Message")
        if msg:
            return str(msg)
    return str(exc)


def is_denied(exc: BaseException) -> bool:
    """True when ``exc`` is AWS refusing the call (AccessDenied, UnauthorizedOperation, 403).

    >>> is_denied(ValueError("x"))
    False
    """
    return error_code(exc) in DENIED_CODES


def is_throttle(exc: BaseException) -> bool:
    """True when ``exc`` is AWS asking the caller to slow down.

    >>> is_throttle(ValueError("x"))
    False
    """
    return error_code(exc) in THROTTLE_CODES


def denied(
    what: str, permission: str, resource: str, exc: BaseException | None = None
) -> AwsAccessDenied:
    """Build the :class:`AwsAccessDenied` error for a refused call.

    >>> str(denied("listing s3://b/AWSLogs/", "s3:ListBucket", "arn:aws:s3:::b"))[:40]
    'Access denied while listing s3://b/AWSLo'
    """
    code = f" ({error_code(exc)}: {error_message(exc)})" if exc is not None else ""
    return AwsAccessDenied(
        f"Access denied while {what}{code}. The caller needs the IAM permission {permission} "
        f"on {resource}. Add it to the role or user you run trailkit with (see docs/aws.md for "
        f"the investigator policy), or run with a profile that has it."
    )


def want_progress(progress: bool | None) -> bool:
    """Whether to draw a progress bar: ``progress`` if given, else only in a terminal or notebook.

    >>> want_progress(False)
    False
    """
    if progress is not None:
        return bool(progress)
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(total: int | None, desc: str, progress: bool | None, unit: str = "file"):
    """A ``tqdm.auto`` bar, or a do-nothing stand-in when progress is off.

    >>> bar = progress_bar(3, "demo", False)
    >>> bar.update(1); bar.close()
    """
    if not want_progress(progress):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass
