"""Ordinary activity: people at work, CI pipelines, instances, Lambdas and AWS services.

Everything is driven by the emitter's ``random.Random``; ``scale`` thins the volume (tests use
a small scale). Busy hours are 07-18 UTC; machines run around the clock.

>>> import random
>>> from trailkit.samples.records import Emitter
>>> em = Emitter(random.Random(3))
>>> background(em, days=1, scale=0.05)
>>> len(em.events) > 100
True
"""

from __future__ import annotations

import random
import re

from trailkit.samples import catalog as cat
from trailkit.samples.identities import (
    DEV,
    HOME,
    PROD,
    REGIONS,
    UA_BOTO3,
    UA_BROWSER,
    UA_BROWSER_WIN,
    UA_CLI,
    UA_CLI_LINUX,
    UA_JAVA,
    UA_S3CONSOLE,
    UA_SSM,
    UA_TERRAFORM,
    Actor,
    Role,
    aws_ip,
    aws_service,
    corp_ip,
    epoch,
    federated_user,
    iam_user,
    identity_center_user,
    instance_id,
    iso,
    rand_hex,
    root,
    saml_user,
    stable_id,
    unknown,
    web_identity_user,
)
from trailkit.samples.records import Emitter

DAY0 = epoch("2026-03-09T00:00:00Z")
DAY = 86400
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 8, 10, 10, 10, 9, 7, 5, 3, 2, 2, 1, 1)
DEVELOPERS = {"carol.dev": "carol@example.com", "erin.dev": "erin@example.com", "frank.dev": "frank@example.com"}
SSO_ADMIN = "AWSReservedSSO_AdministratorAccess_3f2a1b"
SSO_DEV = "AWSReservedSSO_DeveloperAccess_9c8d7e"
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
SAML_QUALIFIER = "Kx3Ob1dHnS5QyZ2vLw8tR4mA0c="
GITHUB = "token.actions.githubusercontent.com"


def saml_provider(account: str) -> str:
    return f"arn:aws:iam::{account}:saml-provider/AWSSSO_a1b2c3d4e5f60718_DO_NOT_DELETE"


def oidc_provider(account: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{GITHUB}"


def work_time(rng: random.Random, day: int, lo: int = 0, hi: int = 24) -> int:
    """A time on ``day`` (epoch of midnight) drawn from the working-hours curve."""
    hour = rng.choices(range(lo, hi), weights=HOUR_WEIGHTS[lo:hi])[0]
    return day + hour * 3600 + rng.randrange(3600)


_API_SUFFIX = re.compile(r"\d{8}(v\d)?$")


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", _API_SUFFIX.sub("", name)).lower()


def user_agent(actor: Actor, source: str, name: str) -> str:
    """The actor's user agent for one call (CLI command / SDK api names filled in)."""
    ua = actor.ua
    if actor.console or actor.extra.get("console"):
        if source == "s3.amazonaws.com":
            return UA_S3CONSOLE
        if source == "ec2.amazonaws.com":
            return "console.ec2.amazonaws.com"
        return "AWS Internal"
    if "{cmd}" in ua:
        return ua.replace("{cmd}", f"{source.split('.')[0]}.{_kebab(name)}")
    if "{api}" in ua:
        return ua.replace("{api}", f"{source.split('.')[0]}#1.{len(name) * 7 % 90 + 60}.0")
    return ua


def call(em: Emitter, t: int, actor: Actor, menu: str, region: str, *, deny: float = 0.0) -> dict:
    """One call picked from ``catalog.MENU[menu]``; ``deny`` is the AccessDenied probability."""
    rng = em.rng
    source, name, ro, build = rng.choice(cat.MENU[menu])
    if source in cat.GLOBAL_SOURCES:
        region = HOME
    req = build(rng, region)  # type: ignore[operator]
    error = None
    if rng.random() < deny:
        svc = source.split(".")[0].replace("monitoring", "cloudwatch")
        action = f"{svc}:{_API_SUFFIX.sub('', name)}"
        error = (cat.ec2_unauthorized(rng, actor.identity.get("arn", ""), action, "*")
                 if svc == "ec2" else cat.access_denied(actor.identity.get("arn", ""), action))
    elif menu == "config" and rng.random() < 0.01:
        error = ("ThrottlingException", "Rate exceeded")
    resp = None
    if not ro and error is None and source == "ec2.amazonaws.com":
        resp = {"requestId": em.uuid(), "_return": True}
    return em.emit(t, actor, source, name, region=region, req=req, resp=resp, ro=ro, error=error,
                   ua=user_agent(actor, source, name))


def s3_read(em: Emitter, t: int, actor: Actor, account: str) -> dict:
    """ListBuckets or a bucket-configuration read on one of the account's buckets."""
    rng = em.rng
    ua = user_agent(actor, "s3.amazonaws.com", "ListBuckets")
    actor = actor.with_(ua=ua)
    if rng.random() < 0.25:
        return em.s3(t, actor, "ListBuckets", None, region=HOME, account=account)
    bucket = rng.choice([b for b, (a, _) in cat.BUCKETS.items() if a == account])
    region = cat.BUCKETS[bucket][1]
    name = rng.choice(cat.S3_READS)
    error = None
    if name == "GetBucketPolicy" and "logs" not in bucket:
        error = ("NoSuchBucketPolicy", "The bucket policy does not exist")
    req = {"policy": [""]} if name == "GetBucketPolicy" else {name[9:].lower(): [""]}
    return em.s3(t, actor, name, bucket, region=region, req=req, error=error, account=account)


def session_work(em: Emitter, actor: Actor, t0: int, n: int, menus: list[str], regions: list[str], *,
                 account: str, s3: float = 0.2, deny: float = 0.0, gap: int = 40) -> int:
    """A burst of ``n`` calls from ``t0``; returns the time of the last one."""
    rng = em.rng
    t = t0
    primary = rng.choice(regions)  # people mostly work in one region per session
    for _ in range(n):
        t += 1 + int(rng.expovariate(1 / gap))
        if rng.random() < s3:
            s3_read(em, t, actor, account)
        else:
            region = primary if rng.random() < 0.9 else rng.choice(regions)
            call(em, t, actor, rng.choice(menus), region, deny=deny)
    return t


# -- the cast ------------------------------------------------------------------------------
DEVELOPER_ROLE = Role(PROD, "DeveloperRole")
DEV_DEVELOPER_ROLE = Role(DEV, "DeveloperRole")
CI_ROLE = {PROD: Role(PROD, "CIDeployRole"), DEV: Role(DEV, "CIDeployRole")}
WEB_ROLE = Role(PROD, "web-server-role")
BUILDER_ROLE = Role(DEV, "dev-builder-role")
LAMBDA_ROLES = {"orders-api": Role(PROD, "orders-api-lambda-role", "/service-role/"),
                "export-customers": Role(PROD, "export-customers-lambda-role", "/service-role/")}
CONFIG_ROLE = {a: Role(a, "AWSServiceRoleForConfig", "/aws-service-role/config.amazonaws.com/") for a in (PROD, DEV)}
ASG_ROLE = Role(PROD, "AWSServiceRoleForAutoScaling", "/aws-service-role/autoscaling.amazonaws.com/")
FLEET = {  # instance name -> (account, region, role)
    "web-1": (PROD, "us-east-1", WEB_ROLE), "web-2": (PROD, "us-east-1", WEB_ROLE),
    "web-3": (PROD, "us-east-1", WEB_ROLE), "web-eu-1": (PROD, "eu-west-1", WEB_ROLE),
    "web-eu-2": (PROD, "eu-west-1", WEB_ROLE), "builder-1": (DEV, "us-west-2", BUILDER_ROLE),
}
SSO_PEOPLE = {  # e-mail -> (account, role name)
    "dave@example.com": (PROD, SSO_ADMIN), "alice@example.com": (PROD, SSO_ADMIN),
    "erin@example.com": (DEV, SSO_DEV), "frank@example.com": (DEV, SSO_DEV), "grace@example.com": (DEV, SSO_ADMIN),
}


def sso_role(account: str, name: str) -> Role:
    return Role(account, name, SSO_PATH)


def sso_session(em: Emitter, t: int, email: str, account: str, role_name: str, ip: str, *, cli: bool = False) -> Actor:
    """Portal sign-in (IdentityCenterUser) then ``AssumeRoleWithSAML``; returns the role session."""
    rng = em.rng
    portal = identity_center_user(PROD, stable_id("", email, 8, "0123456789abcdef") + "-80c1-707f-60e3-3ba6510dfac1",
                                  ip=ip, ua=UA_BROWSER)
    for name in ("ListAccounts", "ListAccountRoles"):
        em.emit(t - rng.randint(5, 30), portal, "sso.amazonaws.com", name,
                req={"accountId": account} if name == "ListAccountRoles" else None, tls_host="portal.sso.us-east-1.amazonaws.com")
    em.emit(t - 2, portal, "sso.amazonaws.com", "GetRoleCredentials", req={"roleName": role_name, "accountId": account},
            tls_host="portal.sso.us-east-1.amazonaws.com")
    subject = saml_user(email, SAML_QUALIFIER, ip=ip, ua=UA_BROWSER, account=account)
    sess = em.assume_role_with_saml(t, subject, sso_role(account, role_name), saml_provider(account),
                                    ua=UA_CLI if cli else "AWS Internal")
    if cli:
        sess = sess.with_(console=False)
    return sess


def _people(em: Emitter, day: int, d: int, scale: float) -> None:
    rng = em.rng
    n = lambda k: max(1, int(k * 3 * scale * rng.uniform(0.6, 1.4)))  # noqa: E731
    # alice.admin: morning console sign-in with MFA, then console + CLI work
    alice_ip = corp_ip(rng)
    t = work_time(rng, day, 7, 10)
    alice = iam_user(PROD, "alice.admin", ip=alice_ip)
    em.emit(t, alice.with_(identity={k: v for k, v in alice.identity.items() if k != "accessKeyId"} | {"accessKeyId": ""},
                           tls=False, ua=UA_BROWSER),
            "signin.amazonaws.com", "ConsoleLogin", resp={"ConsoleLogin": "Success"}, ro=False, etype="AwsConsoleSignIn",
            addl={"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                  "MobileVersion": "No", "MFAIdentifier": f"arn:aws:iam::{PROD}:mfa/alice.admin", "MFAUsed": "Yes"})
    console = iam_user(PROD, "alice.admin", ip=alice_ip, console_since=iso(t))
    session_work(em, console, t + 30, n(60), ["ec2_read", "iam_read", "ops_read"], list(REGIONS), account=PROD, s3=0.3)
    for _ in range(rng.randint(1, 3)):
        session_work(em, alice, work_time(rng, day, 8, 18), n(40), ["ec2_read", "iam_read", "ops_read", "dev_write"],
                     list(REGIONS), account=PROD, s3=0.2)
    # developers: IAM users that assume DeveloperRole (prod) or cross-account into dev
    for user, email in DEVELOPERS.items():
        ip = corp_ip(rng)
        me = iam_user(PROD, user, ip=ip, ua=UA_CLI)
        for _ in range(rng.randint(2, 4)):
            t = work_time(rng, day, 7, 19)
            role = DEVELOPER_ROLE if rng.random() < 0.7 else DEV_DEVELOPER_ROLE
            sess = em.assume_role(t, me, role, email, ip=ip, ua=rng.choice([UA_CLI, UA_BOTO3]))
            session_work(em, sess, t + 5, n(55), ["ec2_read", "dev_read", "dev_read", "dev_write", "iam_read"],
                         ["us-east-1", "us-west-2", "eu-west-1"], account=role.account, s3=0.15, deny=0.03)
    # bob.contractor: works on the 9th only (his contract ends that day)
    if d == 0:
        bob = iam_user(PROD, "bob.contractor", ip="192.0.2.77", ua=UA_CLI_LINUX)
        for _ in range(3):
            session_work(em, bob, work_time(rng, day, 8, 17), n(50), ["ec2_read", "dev_read"],
                         ["eu-west-1", "us-east-1"], account=PROD, s3=0.35, deny=0.02)
    # ci-deploy: Terraform from the CI runners with a long-term key
    ci = iam_user(PROD, "ci-deploy", ip=f"100.64.200.{rng.randint(10, 40)}", ua=UA_TERRAFORM)
    for _ in range(rng.randint(3, 6)):
        session_work(em, ci, work_time(rng, day, 7, 20), n(60), ["ec2_read", "iam_read", "dev_read", "dev_write"],
                     ["us-east-1", "eu-west-1"], account=PROD, s3=0.25, gap=3)
    # SSO people
    for email, (account, role_name) in SSO_PEOPLE.items():
        if rng.random() < 0.2:
            continue
        ip = corp_ip(rng)
        for _ in range(rng.randint(1, 2)):
            t = work_time(rng, day, 7, 18)
            sess = sso_session(em, t, email, account, role_name, ip, cli=rng.random() < 0.4)
            menus = ["ec2_read", "iam_read", "ops_read"] if "Admin" in role_name else ["ec2_read", "dev_read", "dev_write"]
            session_work(em, sess, t + 20, n(45), menus, list(REGIONS), account=account, s3=0.25,
                         deny=0.0 if "Admin" in role_name else 0.02)
    # GitHub Actions runs (web identity) deploying with CIDeployRole
    for account, runs in ((DEV, 8), (PROD, 3)):
        for _ in range(max(1, int(runs * min(1.0, scale * 2)))):
            t = work_time(rng, day, 6, 21)
            sub = "repo:acme/platform:ref:refs/heads/main" if account == PROD else "repo:acme/platform:pull_request"
            job = web_identity_user(GITHUB, "sts.amazonaws.com", sub, ip=f"20.55.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                                    ua="aws-sdk-nodejs/2.1502.0 linux/v20.10.0 configure-aws-credentials-for-github-actions promise",
                                    account=account)
            sess = em.assume_role_with_web_identity(t, job, CI_ROLE[account], f"GitHubActions-{rng.randint(10**9, 10**10)}",
                                                   oidc_provider(account), ua=UA_TERRAFORM)
            last = session_work(em, sess, t + 3, n(25), ["dev_read", "ec2_read", "dev_write"], ["us-east-1", "us-west-2"],
                                account=account, s3=0.2, gap=4)
            em.s3(last + 2, sess, "PutObject", "acme-dev-artifacts", region="us-west-2", ro=False, data=True,
                  key=f"builds/{rand_hex(rng, 12)}.zip", bytes_in=rng.randint(10**6, 4 * 10**7), account=DEV,
                  resp={"x-amz-server-side-encryption": "AES256"})


def _machines(em: Emitter, day: int, d: int, scale: float) -> None:
    rng = em.rng
    # EC2 instance roles: credentials from ec2.amazonaws.com every 6 h, agent chatter all day
    for name, (account, region, role) in FLEET.items():
        iid = instance_id(name)
        svc = aws_service("ec2.amazonaws.com", account)
        egress = f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(4, 254)}" if name.startswith("builder") else aws_ip(rng)
        for block in range(4):
            t0 = day + block * 21600 + rng.randrange(600)
            sess = em.assume_role(t0, svc, role, iid, ip=egress, ua=UA_SSM, ec2=True)
            t = t0 + 5
            end = day + (block + 1) * 21600
            step = int(900 / scale) if scale < 1 else 900
            while True:
                t += rng.randint(step // 2, step * 3 // 2)
                if t >= end:
                    break
                src, ev, ro, build = rng.choice(cat.MENU["machine"])
                ua = UA_SSM if src.startswith(("ssm", "ec2messages")) else UA_BOTO3
                if rng.random() < 0.12 and account == PROD:
                    em.s3(t, sess.with_(ua=UA_BOTO3), "GetObject", "acme-prod-web-assets", region="us-east-1", data=True,
                          key=f"static/{rand_hex(rng, 8)}.js", bytes_out=rng.randint(2000, 400000))
                    continue
                req = build(rng, region)  # type: ignore[operator]
                em.emit(t, sess, src, ev, region=region, req=req, ro=ro, ua=ua,
                        resp=None if ro else ({"runId": em.uuid()} if ev == "UpdateInstanceInformation" else None))
    # Lambda functions: a fresh execution environment (new credentials) every couple of hours
    for fn, role in LAMBDA_ROLES.items():
        region = "us-east-1" if fn == "orders-api" else "eu-west-1"
        lam = aws_service("lambda.amazonaws.com", PROD)
        for block in range(0, 24, 2):
            if fn == "export-customers" and block not in (0, 12):
                continue
            t0 = day + block * 3600 + rng.randrange(1800)
            session = f"awslambda_{rng.randint(100, 999)}_{iso(t0).replace('-', '').replace(':', '').replace('T', '')[:14]}{rng.randint(100, 999)}"
            sess = em.assume_role(t0, lam, role, session, ip=aws_ip(rng), ua=UA_BOTO3.replace("lang/python#3.12.2", "lang/python#3.12.1 exec-env/AWS_Lambda_python3.12"))
            if fn == "export-customers":  # the nightly export writes into the exports bucket
                for i in range(max(2, int(12 * scale))):
                    em.s3(t0 + 10 + i * 7, sess, "PutObject", "acme-prod-customer-exports", region="eu-west-1",
                          ro=False, data=True, key=f"exports/2026-03-{9 + d:02d}/customers-part-{i:04d}.csv.gz",
                          bytes_in=rng.randint(10**6, 9 * 10**6), resp={"x-amz-server-side-encryption": "aws:kms"})
                continue
            for _ in range(max(1, int(rng.randint(6, 14) * scale))):
                src, ev, ro, build = rng.choice(cat.MENU["machine"][2:])
                em.emit(t0 + rng.randrange(min(7200, day + DAY - t0)), sess, src, ev, region=region, req=build(rng, region), ro=ro)  # type: ignore[operator]
    # AWS Config recording: service-linked role sessions sweep every 6 hours
    for account in (PROD, DEV):
        cfg = aws_service("config.amazonaws.com", account)
        for block in range(4):
            for region in REGIONS:
                t0 = day + block * 21600 + rng.randrange(3600)
                sess = em.assume_role(t0, cfg, CONFIG_ROLE[account], "AWSConfig-Describe", ip="config.amazonaws.com",
                                      ua="config.amazonaws.com", invoked_by="config.amazonaws.com")
                for i in range(max(1, int(rng.randint(20, 40) * scale))):
                    call(em, t0 + 2 + i * rng.randint(1, 4), sess, "config", region)
    # Auto Scaling replaces a web instance now and then
    if rng.random() < 0.8:
        asg = aws_service("autoscaling.amazonaws.com", PROD)
        t = day + rng.randrange(DAY - 3600)
        sess = em.assume_role(t, asg, ASG_ROLE, "AutoScaling", ip="autoscaling.amazonaws.com",
                              ua="autoscaling.amazonaws.com", invoked_by="autoscaling.amazonaws.com")
        iid = "i-" + rand_hex(rng, 17)
        rid = em.uuid()
        req, resp = cat.run_instances(rng, t + 4, PROD, "us-east-1", "t3.medium", [iid], name="web-asg", request_id=rid)
        req["launchTemplate"] = {"launchTemplateId": "lt-0e1d2c3b4a5f60789", "version": "7"}
        em.emit(t + 4, sess, "ec2.amazonaws.com", "RunInstances", region="us-east-1", req=req, resp=resp, ro=False,
                request_id=rid)
        rid = em.uuid()
        old = instance_id(f"asg-old-{d}")
        req, resp = cat.state_change([old], "shutting-down", "running", request_id=rid)
        em.emit(t + 400, sess, "ec2.amazonaws.com", "TerminateInstances", region="us-east-1", req=req, resp=resp,
                ro=False, request_id=rid)
    # KMS key rotation: an AWS service event without a userIdentity type
    for account in (PROD, DEV):
        t = day + 3600 * 4 + rng.randrange(600)
        key_arn = f"arn:aws:kms:us-east-1:{account}:key/{stable_id('', account, 8, '0123456789abcdef')}-1a2b-4c3d-8e9f-{stable_id('', account + 'k', 12, '0123456789abcdef')}"
        em.emit(t, Actor({"accountId": account, "invokedBy": "kms.amazonaws.com"}, "kms.amazonaws.com",
                         "kms.amazonaws.com", account, tls=False),
                "kms.amazonaws.com", "RotateKey", req=None, resp=None, ro=False, etype="AwsServiceEvent",
                resources=[{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}])


def _odd_ones(em: Emitter, day: int, d: int, scale: float) -> None:
    """Federated reporting user, an Unknown caller, and (rarely) the dev account's root user."""
    rng = em.rng
    svc_user = iam_user(PROD, "reporting-svc", ip="52.94.133.131", ua=UA_JAVA)
    t = day + 6 * 3600 + rng.randrange(300)
    key = em.get_federation_token(t, svc_user, "reporting-dashboard")
    fed = federated_user(PROD, "reporting-dashboard", svc_user, key, t, ip="52.94.133.131", ua=UA_JAVA)
    for hour in range(7, 19):
        for _ in range(max(1, int(rng.randint(4, 9) * scale))):
            call(em, day + hour * 3600 + rng.randrange(3600), fed, "reporting", "eu-west-1")
    for _ in range(rng.randint(1, 2)):
        who = unknown(PROD, "Grace Hopper", "9067a1b2c3-" + stable_id("", "grace", 8, "0123456789abcdef"),
                      ip=corp_ip(rng), ua="Boto3/1.34.60 Python/3.12.2 Darwin/23.4.0 Botocore/1.34.60")
        em.emit(work_time(rng, day, 7, 18), who, "sso.amazonaws.com", "CreateToken",
                req={"clientId": rand_hex(rng, 22), "clientSecret": "HIDDEN_DUE_TO_SECURITY_REASONS",
                     "deviceCode": rand_hex(rng, 22), "grantType": "urn:ietf:params:oauth:grant-type:device_code"},
                resp={"accessToken": "HIDDEN_DUE_TO_SECURITY_REASONS", "expiresIn": 28800,
                      "idToken": "HIDDEN_DUE_TO_SECURITY_REASONS", "refreshToken": "HIDDEN_DUE_TO_SECURITY_REASONS",
                      "tokenType": "Bearer"}, ro=False, tls_host="oidc.us-east-1.amazonaws.com")
    if d == 0:  # the dev account's root user, with MFA, fixing billing access once
        t = day + 10 * 3600 + 122
        ip = corp_ip(rng)
        r = root(DEV, ip=ip, ua=UA_BROWSER_WIN)
        r = r.with_(tls=False)
        em.emit(t, r, "signin.amazonaws.com", "ConsoleLogin", resp={"ConsoleLogin": "Success"}, ro=False,
                etype="AwsConsoleSignIn",
                addl={"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                      "MobileVersion": "No", "MFAIdentifier": f"arn:aws:iam::{DEV}:mfa/root-account-mfa-device",
                      "MFAUsed": "Yes"})
        rs = root(DEV, ip=ip, ua=UA_BROWSER_WIN, key=stable_id("ASIA", "dev-root"), created=iso(t), mfa=True)
        for i, name in enumerate(("GetAccountSummary", "ListMFADevices", "GetAccountPasswordPolicy")):
            em.emit(t + 40 + i * 25, rs, "iam.amazonaws.com", name, req=None, ua="AWS Internal")


def background(em: Emitter, *, days: int = 5, scale: float = 1.0) -> None:
    """Emit ``days`` days of ordinary activity from 2026-03-09 into ``em``."""
    for d in range(days):
        day = DAY0 + d * DAY
        _people(em, day, d, scale)
        _machines(em, day, d, scale)
        _odd_ones(em, day, d, scale)

