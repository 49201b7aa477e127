"""The cast of the sample logs: accounts, regions, principals and ``userIdentity`` builders.

Ids that the planted incidents refer to (IAM user keys, role ids, instance ids) are derived
from their names with a hash, so they are the same for every seed; everything else is drawn
from the generator's ``random.Random``.

>>> from trailkit.samples.identities import PROD, iam_user
>>> iam_user(PROD, "alice.admin").identity["arn"]
'arn:aws:iam::111122223333:user/alice.admin'
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

ORG_ID = "o-a1b2c3d4e5"
PROD = "111122223333"
DEV = "444455556666"
ACCOUNTS = {PROD: "prod", DEV: "dev"}
HOME = "us-east-1"  # also holds the global IAM / STS / sign-in events
REGIONS = ("us-east-1", "eu-west-1", "us-west-2")
RARE_REGION = "ap-southeast-3"

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_HEX = "0123456789abcdef"

# -- user agents ---------------------------------------------------------------------------
UA_CLI = ("aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 "
          "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{cmd}")
UA_CLI_LINUX = ("aws-cli/2.13.25 Python/3.11.5 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 prompt/off "
                "command/{cmd}")
UA_BOTO3 = "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.60"
UA_LAMBDA = ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.12.1 md/pyimpl#CPython "
             "exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.0")
UA_TERRAFORM = ("APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0 "
                "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 ua/2.0 os/linux "
                "lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64 api/{api}")
UA_CONSOLE = "AWS Internal"
UA_S3CONSOLE = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.213-179.855.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]"
UA_BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/122.0.0.0 Safari/537.36")
UA_BROWSER_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0"
UA_SSM = "aws-sdk-go/1.50.10 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.40.0"
UA_GO = "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/{api}"
UA_JAVA = "aws-sdk-java/2.25.6 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard"


def iso(t: int) -> str:
    """Epoch seconds → CloudTrail ``eventTime`` text.

    >>> iso(0)
    '1970-01-01T00:00:00Z'
    """
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str) -> int:
    """``2026-03-11T02:47:13Z`` → epoch seconds.

    >>> iso(epoch("2026-03-11T02:47:13Z"))
    '2026-03-11T02:47:13Z'
    """
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def stable_id(prefix: str, name: str, n: int = 16, alphabet: str = _B32) -> str:
    """An id that depends only on ``name`` (same for every seed).

    >>> stable_id("AKIA", "bob.contractor")[:4], len(stable_id("AKIA", "x"))
    ('AKIA', 20)
    """
    digest = hashlib.sha256(f"{prefix}|{name}".encode()).digest()
    return prefix + "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def rand_id(rng: random.Random, prefix: str, n: int = 16, alphabet: str = _B32) -> str:
    """A random id like ``ASIA...`` drawn from ``rng``."""
    return prefix + "".join(rng.choices(alphabet, k=n))


def rand_hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def instance_id(name: str) -> str:
    """A stable ``i-`` id (17 hex digits) for a named instance."""
    return stable_id("i-", name, 17, _HEX)


@dataclass
class Actor:
    """Who makes a call: the ``userIdentity`` block plus where the calls come from."""

    identity: dict
    ip: str
    ua: str
    account: str
    name: str = ""
    tls: bool = True  # False when an AWS service calls on the principal's behalf
    console: bool = False  # session credentials from the console
    key: str = ""
    extra: dict = field(default_factory=dict)

    def with_(self, **changes) -> Actor:
        d = dict(self.__dict__)
        d.update(changes)
        return Actor(**d)


@dataclass(frozen=True)
class Role:
    """An IAM role; ``path`` e.g. ``/aws-reserved/sso.amazonaws.com/``."""

    account: str
    name: str
    path: str = "/"

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role{self.path}{self.name}"

    @property
    def role_id(self) -> str:
        return stable_id("AROA", f"{self.account}/{self.name}", 17)

    def session_arn(self, session: str) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{session}"


def user_key(account: str, name: str) -> str:
    """The long-term ``AKIA`` key of an IAM user of the cast (seed-independent)."""
    return stable_id("AKIA", f"{account}/{name}")


def iam_user(account: str, name: str, *, ip: str = "192.0.2.10", ua: str = UA_CLI, key: str | None = None,
             console_since: str | None = None, mfa: bool = True) -> Actor:
    """An IAM user calling with its long-term key (or a console session when ``console_since``)."""
    ident = {"type": "IAMUser", "principalId": stable_id("AIDA", f"{account}/{name}", 17),
             "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account}
    if console_since:
        key = key or stable_id("ASIA", f"console/{account}/{name}/{console_since}")
        ident["accessKeyId"] = key
        ident["userName"] = name
        ident["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                   "attributes": {"creationDate": console_since,
                                                  "mfaAuthenticated": "true" if mfa else "false"}}
        return Actor(ident, ip, ua, account, name, console=True, key=key)
    key = key or user_key(account, name)
    ident["accessKeyId"] = key
    ident["userName"] = name
    return Actor(ident, ip, ua, account, name, key=key)


def session_actor(role: Role, session: str, key: str, created: int, *, ip: str, ua: str,
                  mfa: bool = False, invoked_by: str | None = None, web_provider: str | None = None,
                  ec2: bool = False, source_identity: str | None = None, console: bool = False) -> Actor:
    """The AssumedRole principal of a role session whose credentials are ``key``."""
    ctx: dict = {"sessionIssuer": {"type": "Role", "principalId": role.role_id, "arn": role.arn,
                                   "accountId": role.account, "userName": role.name},
                 "webIdFederationData": ({"federatedProvider": web_provider, "attributes": {}}
                                         if web_provider else {}),
                 "attributes": {"creationDate": iso(created), "mfaAuthenticated": "true" if mfa else "false"}}
    if source_identity:
        ctx["sourceIdentity"] = source_identity
    if ec2:
        ctx["ec2RoleDelivery"] = "2.0"
    ident = {"type": "AssumedRole", "principalId": f"{role.role_id}:{session}",
             "arn": role.session_arn(session), "accountId": role.account, "accessKeyId": key,
             "sessionContext": ctx}
    if invoked_by:
        ident["invokedBy"] = invoked_by
    return Actor(ident, ip, ua, role.account, f"{role.name}/{session}", tls=invoked_by is None,
                 console=console, key=key)


def aws_service(service: str, account: str) -> Actor:
    """An AWS service acting for itself (``AWSService``)."""
    return Actor({"type": "AWSService", "invokedBy": service}, service, service, account, service, tls=False)


def root(account: str, *, ip: str, ua: str = UA_BROWSER, key: str = "", created: str | None = None,
         mfa: bool = False) -> Actor:
    """The account's root user (console sign-in when ``key`` is empty)."""
    ident: dict = {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
                   "accountId": account, "accessKeyId": key}
    if created:
        ident["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                   "attributes": {"creationDate": created,
                                                  "mfaAuthenticated": "true" if mfa else "false"}}
    return Actor(ident, ip, ua, account, "root", console=bool(created), key=key)


def identity_center_user(account: str, user_id: str, *, ip: str, ua: str = UA_BROWSER) -> Actor:
    """An IAM Identity Center user acting through the access portal (``onBehalfOf``)."""
    ident = {"type": "IdentityCenterUser", "accountId": account,
             "onBehalfOf": {"userId": user_id,
                            "identityStoreArn": f"arn:aws:identitystore::{account}:identitystore/d-9067a1b2c3"},
             "credentialId": stable_id("", f"cred/{user_id}", 40, _B32 + "abcdefghijklmnopqrstuvwxyz0123456789")}
    return Actor(ident, ip, ua, account, user_id)


def unknown(account: str, user: str, principal_id: str, *, ip: str, ua: str) -> Actor:
    """A caller CloudTrail cannot classify (type ``Unknown``)."""
    return Actor({"type": "Unknown", "principalId": principal_id, "accountId": account, "userName": user},
                 ip, ua, account, user)


def saml_user(email: str, name_qualifier: str, *, ip: str, ua: str, account: str) -> Actor:
    """The SAML subject calling ``AssumeRoleWithSAML`` (IAM Identity Center behind the scenes)."""
    return Actor({"type": "SAMLUser", "principalId": f"{name_qualifier}:{email}", "userName": email,
                  "identityProvider": name_qualifier}, ip, ua, account, email)


def web_identity_user(provider: str, audience: str, subject: str, *, ip: str, ua: str, account: str) -> Actor:
    """The OIDC subject calling ``AssumeRoleWithWebIdentity`` (e.g. a GitHub Actions job)."""
    return Actor({"type": "WebIdentityUser", "principalId": f"{provider}:{audience}:{subject}",
                  "userName": subject, "identityProvider": provider}, ip, ua, account, subject)


def federated_user(account: str, name: str, issuer: Actor, key: str, created: int, *, ip: str, ua: str) -> Actor:
    """A ``GetFederationToken`` session of an IAM user."""
    ident = {"type": "FederatedUser", "principalId": f"{account}:{name}",
             "arn": f"arn:aws:sts::{account}:federated-user/{name}", "accountId": account, "accessKeyId": key,
             "sessionContext": {"sessionIssuer": {"type": "IAMUser",
                                                  "principalId": issuer.identity["principalId"],
                                                  "arn": issuer.identity["arn"], "accountId": account,
                                                  "userName": issuer.name},
                                "webIdFederationData": {},
                                "attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"}}}
    return Actor(ident, ip, ua, account, name, key=key)


def aws_account(principal_id: str, account: str, *, ip: str, ua: str, recipient: str) -> Actor:
    """A principal of another account, as the role-owning account sees it (``AWSAccount``)."""
    return Actor({"type": "AWSAccount", "principalId": principal_id, "accountId": account}, ip, ua, recipient,
                 principal_id)


# -- address pools: corporate ranges only; 198.51.100.0/24 and 203.0.113.0/24 are the attacker's ---
def corp_ip(rng: random.Random) -> str:
    """An address from the corporate office (192.0.2.0/24) or VPN (100.64.0.0/10) ranges."""
    if rng.random() < 0.55:
        return f"192.0.2.{rng.randint(10, 250)}"
    return f"100.{rng.randint(64, 71)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def aws_ip(rng: random.Random) -> str:
    """A public AWS address (NAT gateway / Lambda egress)."""
    first = rng.choice((3, 18, 34, 35, 44, 52, 54))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
