"""The planted incidents of the sample logs, and :data:`INCIDENTS`, their exact parameters.

Tests and notebooks read :data:`INCIDENTS` instead of repeating times, ids and names. Ids,
keys and times are the same for every seed (only eventIDs and requestIDs vary).

>>> INCIDENTS["bucket_deletion"]["deleted_at"]
'2026-03-11T02:47:13Z'
>>> INCIDENTS["ssh_open"]["open_seconds"]
61
"""

from __future__ import annotations

from trailkit.samples import catalog as cat
from trailkit.samples.background import (
    CI_ROLE,
    DEVELOPER_ROLE,
    SSO_ADMIN,
    SSO_DEV,
    oidc_provider,
    sso_session,
    user_agent,
)
from trailkit.samples.identities import (
    DEV,
    PROD,
    RARE_REGION,
    UA_BROWSER,
    UA_CLI,
    UA_LAMBDA,
    UA_TERRAFORM,
    Actor,
    Role,
    aws_service,
    epoch,
    iam_user,
    instance_id,
    root,
    stable_id,
    user_key,
    web_identity_user,
)
from trailkit.samples.records import Emitter

BUCKET = "acme-prod-customer-exports"
S3_ADMIN_ROLE = Role(PROD, "S3AdminRole")
REMEDIATION_ROLE = Role(PROD, "SecurityAutoRemediationRole", "/service-role/")
CLEANUP_KEY = stable_id("ASIA", "S3AdminRole/cleanup-job")
ATTACKER_UA = "Boto3/1.26.137 Python/3.10.12 Linux/5.15.0-105-generic Botocore/1.29.137"
BOB_UA = ("aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.debian.12 prompt/off "
          "command/{cmd}")
XSS_UA = "<img src=x onerror=alert(1)>"
LOGIN_TO = "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true"
DECOY_SESSION = "GitHubActions-8391047215"

# (time, region, developer user, instance type or None for the launch template, count, label, fails)
LAUNCHES = [
    ("2026-03-10T10:12:31Z", "us-west-2", "carol.dev", "p4d.24xlarge", 1, "p4d-1", False),
    ("2026-03-10T10:40:05Z", "us-west-2", "carol.dev", "t3.small", 1, "carol-small", False),
    ("2026-03-10T13:20:44Z", "us-east-1", "erin.dev", "x2iedn.32xlarge", 1, "x2iedn-1", False),
    ("2026-03-10T15:02:19Z", "us-east-1", "erin.dev", "p4d.24xlarge", 2, "p4d-denied", True),
    ("2026-03-10T16:10:00Z", "us-east-1", "frank.dev", "t2.micro", 1, "frank-micro", False),
    ("2026-03-11T09:05:37Z", "us-west-2", "frank.dev", None, 2, "g5-lt", False),
    ("2026-03-11T09:30:12Z", "us-west-2", "frank.dev", "m5.large", 1, "frank-m5", False),
    ("2026-03-11T11:15:48Z", "us-east-1", "carol.dev", "g5.48xlarge", 1, "g5-1", False),
    ("2026-03-11T13:02:00Z", "us-west-2", "erin.dev", "t3.small", 2, "erin-small", False),
]
TEMPLATE = {"launchTemplateId": "lt-0a1b2c3d4e5f67890", "version": "3"}
TEMPLATE_TYPE = "g5.48xlarge"
# (time, event, developer, label, instance indexes)
STATE_CHANGES = [
    ("2026-03-10T17:30:20Z", "StopInstances", "carol.dev", "carol-small", [0]),
    ("2026-03-10T18:31:02Z", "StopInstances", "erin.dev", "x2iedn-1", [0]),
    ("2026-03-11T08:03:12Z", "TerminateInstances", "carol.dev", "p4d-1", [0]),
    ("2026-03-11T16:45:00Z", "TerminateInstances", "frank.dev", "g5-lt", [1]),
]
_EMAIL = {"carol.dev": "carol@example.com", "erin.dev": "erin@example.com", "frank.dev": "frank@example.com"}


def _ids(label: str, count: int) -> list[str]:
    return [instance_id(f"{label}-{i}") for i in range(count)]


def _launch_info() -> list[dict]:
    out = []
    for t, region, user, itype, count, label, fails in LAUNCHES:
        out.append({"time": t, "region": region, "user": user, "actor": f"DeveloperRole/{_EMAIL[user]}",
                    "instance_type": itype or TEMPLATE_TYPE, "type_in_request": itype is not None, "count": count,
                    "instance_ids": [] if fails else _ids(label, count),
                    "error_code": "Client.UnauthorizedOperation" if fails else None})
    return out


INCIDENTS: dict[str, dict] = {
    "bucket_deletion": {
        "summary": "A departed contractor's still-active key assumes S3AdminRole at night and deletes a prod bucket.",
        "bucket": BUCKET, "account": PROD, "region": "eu-west-1",
        "bucket_arn": f"arn:aws:s3:::{BUCKET}",
        "deleted_at": "2026-03-11T02:47:13Z", "failed_delete_at": "2026-03-11T02:44:05Z",
        "failed_error_code": "BucketNotEmpty", "source_ip": "203.0.113.66",
        "actor": "S3AdminRole/cleanup-job", "role_arn": S3_ADMIN_ROLE.arn,
        "session_arn": S3_ADMIN_ROLE.session_arn("cleanup-job"), "session_access_key_id": CLEANUP_KEY,
        "assume_role_at": "2026-03-11T02:39:27Z", "assumed_by": "bob.contractor",
        "assumed_by_arn": f"arn:aws:iam::{PROD}:user/bob.contractor",
        "assumed_by_access_key_id": user_key(PROD, "bob.contractor"),
        "steps": ["GetCallerIdentity", "AssumeRole", "ListBuckets", "GetBucketPolicy", "DeleteBucketPolicy",
                  "PutBucketAcl", "DeleteBucket (BucketNotEmpty)", "DeleteObjects x4", "DeleteBucket"],
        "decoy": {"bucket": "acme-dev-scratch-0311", "account": DEV, "region": "us-west-2",
                  "created_at": "2026-03-11T09:12:05Z", "deleted_at": "2026-03-11T14:21:40Z",
                  "actor": f"CIDeployRole/{DECOY_SESSION}"},
    },
    "ssh_open": {
        "summary": "An SSO admin opens SSH to the world on prod-web; a remediation Lambda revokes it 61 s later.",
        "group_id": "sg-0a1b2c3d4e5f60718", "group_name": "prod-web", "account": PROD, "region": "us-east-1",
        "opened_at": "2026-03-10T14:05:32Z", "actor": "AWSReservedSSO_AdministratorAccess_3f2a1b/dave@example.com",
        "source_ip": "100.64.12.34", "protocol": "tcp", "port": 22, "cidr": "0.0.0.0/0",
        "rule_id": "sgr-0123456789abcdef0", "revoked_at": "2026-03-10T14:06:33Z",
        "revoked_by": "SecurityAutoRemediationRole/sg-remediator", "open_seconds": 61,
        "background": [
            {"group_id": "sg-0f1e2d3c4b5a69788", "group_name": "prod-alb", "account": PROD, "region": "us-east-1",
             "at": "2026-03-09T11:20:44Z", "port": 443, "cidr": "0.0.0.0/0", "actor": "ci-deploy",
             "rule_id": "sgr-0aa11bb22cc33dd44", "revoked": False},
            {"group_id": "sg-0123abcd4567ef890", "group_name": "bastion", "account": PROD, "region": "us-east-1",
             "at": "2026-03-10T09:41:07Z", "port": 22, "cidr": "192.0.2.0/24", "actor": "alice.admin",
             "rule_id": "sgr-0bb22cc33dd44ee55", "revoked": False},
            {"group_id": "sg-0aa1bb2cc3dd4ee5f", "group_name": "dev-windows-test", "account": DEV,
             "region": "us-west-2", "at": "2026-03-12T16:22:51Z", "port": 3389, "cidr": "0.0.0.0/0",
             "actor": "AWSReservedSSO_DeveloperAccess_9c8d7e/frank@example.com", "flat_form": True,
             "rule_id": "sgr-0cc33dd44ee55ff66", "revoked": False},
        ],
    },
    "huge_instances": {
        "summary": "Developers (DeveloperRole sessions) launch very large GPU/memory instances among normal ones.",
        "role": "DeveloperRole", "account": PROD, "regions": ["us-west-2", "us-east-1"],
        "large_types": ["p4d.24xlarge", "x2iedn.32xlarge", "g5.48xlarge"],
        "launches": _launch_info(), "launch_template": TEMPLATE,
        "state_changes": [{"time": t, "event": ev, "user": u, "instance_ids": [_ids(lbl, 2)[i] for i in idx]}
                          for t, ev, u, lbl, idx in STATE_CHANGES],
    },
    "root_login": {
        "summary": "Root signs in to the prod console without MFA from an unknown address, after one failure.",
        "account": PROD, "region": "us-east-1", "at": "2026-03-12T07:15:09Z",
        "failed_at": "2026-03-12T07:14:02Z", "source_ip": "198.51.100.77", "mfa_used": False,
        "followups": ["ListUsers", "ListAccessKeys", "GetAccountSummary"],
    },
    "rare_region": {
        "summary": "ci-deploy's long-term key is used from outside, in a region the company never uses.",
        "region": RARE_REGION, "account": PROD, "actor": "ci-deploy", "access_key_id": user_key(PROD, "ci-deploy"),
        "source_ip": "198.51.100.23", "user_agent": ATTACKER_UA, "first_event_at": "2026-03-12T02:58:40Z",
        "run_at": "2026-03-12T03:01:55Z", "instance_type": "c5.4xlarge", "count": 4,
        "instance_ids": _ids("rare-c5", 4),
    },
    "xss_probe": {
        "summary": "A probe with the stolen ci-deploy key whose user agent is an HTML payload (escape it!).",
        "at": "2026-03-12T02:51:40Z", "account": PROD, "region": "us-east-1", "event_name": "GetUser",
        "error_code": "AccessDenied", "user_agent": XSS_UA, "source_ip": "198.51.100.23", "actor": "ci-deploy",
    },
}


def _bucket_deletion(em: Emitter) -> None:
    inc = INCIDENTS["bucket_deletion"]
    rng = em.rng
    ip, region = inc["source_ip"], inc["region"]
    bob = iam_user(PROD, "bob.contractor", ip=ip, ua=BOB_UA)
    t = epoch("2026-03-11T02:38:51Z")
    em.emit(t, bob.with_(ua=user_agent(bob, "sts.amazonaws.com", "GetCallerIdentity")), "sts.amazonaws.com",
            "GetCallerIdentity")
    ua = BOB_UA.replace("{cmd}", "sts.assume-role")
    s = em.assume_role(epoch(inc["assume_role_at"]), bob.with_(ua=ua), S3_ADMIN_ROLE, "cleanup-job",
                       key=CLEANUP_KEY, ip=ip, ua=BOB_UA)
    cli = lambda cmd: s.with_(ua=BOB_UA.replace("{cmd}", cmd))  # noqa: E731
    em.emit(epoch("2026-03-11T02:40:02Z"), cli("sts.get-caller-identity"), "sts.amazonaws.com", "GetCallerIdentity")
    em.s3(epoch("2026-03-11T02:40:15Z"), cli("s3.ls"), "ListBuckets", None, region="us-east-1")
    em.s3(epoch("2026-03-11T02:41:03Z"), cli("s3api.get-bucket-location"), "GetBucketLocation", BUCKET,
          region=region, req={"location": [""]})
    em.s3(epoch("2026-03-11T02:41:30Z"), cli("s3api.get-bucket-policy"), "GetBucketPolicy", BUCKET,
          region=region, req={"policy": [""]})
    em.s3(epoch("2026-03-11T02:42:10Z"), cli("s3api.delete-bucket-policy"), "DeleteBucketPolicy", BUCKET,
          region=region, ro=False, req={"policy": [""]})
    acl = {"AccessControlPolicy": {"AccessControlList": {"Grant": {
        "Grantee": {"xsi:type": "CanonicalUser", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                    "ID": "d25639fbe9c19cd30a4c0f43fbf00e2d3f96400a9aa8dabfbbebe1906Example"},
        "Permission": "FULL_CONTROL"}}, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
        "Owner": {"ID": "d25639fbe9c19cd30a4c0f43fbf00e2d3f96400a9aa8dabfbbebe1906Example"}}, "acl": [""]}
    em.s3(epoch("2026-03-11T02:42:48Z"), cli("s3api.put-bucket-acl"), "PutBucketAcl", BUCKET, region=region,
          ro=False, req=acl)
    em.s3(epoch(inc["failed_delete_at"]), cli("s3api.delete-bucket"), "DeleteBucket", BUCKET, region=region,
          ro=False, error=("BucketNotEmpty", "The bucket you tried to delete is not empty"))
    t = epoch("2026-03-11T02:44:41Z")
    for i in range(4):
        em.s3(t + i * 31 + rng.randint(0, 9), cli("s3.rm"), "DeleteObjects", BUCKET, region=region, ro=False,
              data=True, req={"delete": ""}, bytes_in=rng.randint(40000, 90000),
              resp=None)
    em.s3(epoch(inc["deleted_at"]), cli("s3api.delete-bucket"), "DeleteBucket", BUCKET, region=region, ro=False)
    # the decoy: CI creates and later deletes a scratch bucket in the dev account
    dec = inc["decoy"]
    for when, name, session in ((dec["created_at"], "CreateBucket", "GitHubActions-8390518840"),
                                (dec["deleted_at"], "DeleteBucket", DECOY_SESSION)):
        t = epoch(when)
        job = web_identity_user("token.actions.githubusercontent.com", "sts.amazonaws.com",
                                "repo:acme/platform:ref:refs/heads/main", ip="20.55.17.201",
                                ua="aws-sdk-nodejs/2.1502.0 linux/v20.10.0 configure-aws-credentials-for-github-actions promise",
                                account=DEV)
        sess = em.assume_role_with_web_identity(t - 40, job, CI_ROLE[DEV], session, oidc_provider(DEV),
                                                ua=UA_TERRAFORM.replace("{api}", "api/s3#1.51.3"))
        req = ({"CreateBucketConfiguration": {"LocationConstraint": "us-west-2",
                                              "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}
               if name == "CreateBucket" else None)
        em.s3(t, sess, name, dec["bucket"], region=dec["region"], ro=False, req=req)


def _ssh_open(em: Emitter) -> None:
    inc = INCIDENTS["ssh_open"]
    rng = em.rng
    region, gid, acct = inc["region"], inc["group_id"], inc["account"]
    dave = sso_session(em, epoch("2026-03-10T13:58:10Z"), "dave@example.com", PROD, SSO_ADMIN, inc["source_ip"])
    for i in range(3):
        em.emit(epoch("2026-03-10T14:03:40Z") + i * 29, dave, "ec2.amazonaws.com", "DescribeSecurityGroups",
                region=region, req={"securityGroupSet": {}, "securityGroupIdSet": {"items": [{"groupId": gid}]},
                                    "filterSet": {}}, ua="console.ec2.amazonaws.com")
    rid = em.uuid()
    req, resp = cat.sg_ingress(gid, "tcp", 22, 22, "0.0.0.0/0", rule_id=inc["rule_id"], account=acct, request_id=rid)
    em.emit(epoch(inc["opened_at"]), dave, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", region=region,
            req=req, resp=resp, ro=False, request_id=rid, ua="console.ec2.amazonaws.com")
    lam = aws_service("lambda.amazonaws.com", PROD)
    t = epoch(inc["revoked_at"])
    fix = em.assume_role(t - 3, lam, REMEDIATION_ROLE, "sg-remediator", ip="54.166.23.201", ua=UA_LAMBDA)
    em.emit(t - 1, fix, "ec2.amazonaws.com", "DescribeSecurityGroupRules", region=region,
            req={"DescribeSecurityGroupRulesRequest": {"Filter": {"Name": "group-id", "Value": {"content": gid, "tag": 1}}}})
    rid = em.uuid()
    req, resp = cat.sg_revoke(gid, "tcp", 22, 22, "0.0.0.0/0", rule_id=inc["rule_id"], account=acct, request_id=rid)
    em.emit(t, fix, "ec2.amazonaws.com", "RevokeSecurityGroupIngress", region=region, req=req, resp=resp, ro=False,
            request_id=rid)
    # background rules: an HTTPS listener, office SSH, and a forgotten RDP rule in dev
    for bg in inc["background"]:
        t = epoch(bg["at"])
        if bg["actor"] == "ci-deploy":
            who = iam_user(PROD, "ci-deploy", ip="100.64.200.17", ua=UA_TERRAFORM.replace("{api}", "api/ec2#1.149.1"))
        elif bg["actor"] == "alice.admin":
            who = iam_user(PROD, "alice.admin", ip="192.0.2.41",
                           ua=UA_CLI.replace("{cmd}", "ec2.authorize-security-group-ingress"))
        else:
            who = sso_session(em, t - 300, "frank@example.com", DEV, SSO_DEV, "100.66.3.19", cli=True)
            who = who.with_(ua=UA_CLI.replace("{cmd}", "ec2.authorize-security-group-ingress"))
        rid = em.uuid()
        req, resp = cat.sg_ingress(bg["group_id"], "tcp", bg["port"], bg["port"], bg["cidr"], rule_id=bg["rule_id"],
                                   account=bg["account"], request_id=rid, flat=bg.get("flat_form", False),
                                   desc=None if bg.get("flat_form") else rng.choice(["managed by terraform", "office"]))
        em.emit(t, who, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", region=bg["region"], req=req,
                resp=resp, ro=False, request_id=rid, account=bg["account"])


def _dev_session(em: Emitter, t: int, user: str) -> Actor:
    ip = {"carol.dev": "192.0.2.58", "erin.dev": "100.65.20.7", "frank.dev": "192.0.2.131"}[user]
    me = iam_user(PROD, user, ip=ip, ua=UA_CLI.replace("{cmd}", "sts.assume-role"))
    return em.assume_role(t, me, DEVELOPER_ROLE, _EMAIL[user], ip=ip, ua=UA_CLI)


def _huge_instances(em: Emitter) -> None:
    rng = em.rng
    for when, region, user, itype, count, label, fails in LAUNCHES:
        t = epoch(when)
        sess = _dev_session(em, t - rng.randint(120, 400), user)
        look = sess.with_(ua=UA_CLI.replace("{cmd}", "ec2.describe-instance-type-offerings"))
        em.emit(t - rng.randint(30, 90), look, "ec2.amazonaws.com", "DescribeInstanceTypeOfferings", region=region,
                req={"locationType": "availability-zone", "filterSet": {"items": [
                    {"name": "instance-type", "valueSet": {"items": [{"value": itype or TEMPLATE_TYPE}]}}]}})
        run = sess.with_(ua=UA_CLI.replace("{cmd}", "ec2.run-instances"))
        rid = em.uuid()
        ids = _ids(label, count)
        req, resp = cat.run_instances(rng, t, PROD, region, itype, ids, actual_type=TEMPLATE_TYPE,
                                      launch_template=None if itype else dict(TEMPLATE), name=label,
                                      key_name=f"{user.split('.')[0]}-key", request_id=rid)
        error = None
        if fails:
            resp = None
            error = cat.ec2_unauthorized(rng, sess.identity["arn"], "ec2:RunInstances",
                                         f"arn:aws:ec2:{region}:{PROD}:instance/*")
        em.emit(t, run, "ec2.amazonaws.com", "RunInstances", region=region, req=req, resp=resp, ro=False,
                error=error, request_id=rid)
    for when, event, user, label, idx in STATE_CHANGES:
        t = epoch(when)
        region = next(r for _, r, _, _, _, lbl, _ in LAUNCHES if lbl == label)
        sess = _dev_session(em, t - rng.randint(60, 300), user)
        ids = [instance_id(f"{label}-{i}") for i in idx]
        cmd = "ec2.stop-instances" if event == "StopInstances" else "ec2.terminate-instances"
        rid = em.uuid()
        if event == "StopInstances":
            req, resp = cat.state_change(ids, "stopping", "running", force=False, request_id=rid)
        else:
            req, resp = cat.state_change(ids, "shutting-down", "running", request_id=rid)
        em.emit(t, sess.with_(ua=UA_CLI.replace("{cmd}", cmd)), "ec2.amazonaws.com", event, region=region,
                req=req, resp=resp, ro=False, request_id=rid)


def _root_login(em: Emitter) -> None:
    inc = INCIDENTS["root_login"]
    ip = inc["source_ip"]
    who = root(PROD, ip=ip, ua=UA_BROWSER).with_(tls=False)
    for when, ok in ((inc["failed_at"], False), (inc["at"], True)):
        em.emit(epoch(when), who, "signin.amazonaws.com", "ConsoleLogin", ro=False, etype="AwsConsoleSignIn",
                resp={"ConsoleLogin": "Success" if ok else "Failure"},
                error=None if ok else (None, "Failed authentication"),
                addl={"LoginTo": LOGIN_TO, "MobileVersion": "No", "MFAUsed": "No"})
    t = epoch(inc["at"])
    sess = root(PROD, ip=ip, ua="AWS Internal", key=stable_id("ASIA", "prod-root-console"), created=inc["at"])
    for i, name in enumerate(inc["followups"]):
        req = {"userName": "ci-deploy"} if name == "ListAccessKeys" else None
        em.emit(t + 81 + i * 37, sess, "iam.amazonaws.com", name, req=req)


def _rare_region(em: Emitter) -> None:
    rng = em.rng
    inc, probe = INCIDENTS["rare_region"], INCIDENTS["xss_probe"]
    region = inc["region"]
    key = iam_user(PROD, "ci-deploy", ip=inc["source_ip"], ua=ATTACKER_UA)
    em.emit(epoch(probe["at"]), key.with_(ua=XSS_UA), "iam.amazonaws.com", "GetUser", req=None,
            error=cat.access_denied(key.identity["arn"], "iam:GetUser", key.identity["arn"]))
    t = epoch(inc["first_event_at"])
    names = ["DescribeRegions", "DescribeAccountAttributes", "DescribeInstances", "DescribeVpcs", "DescribeSubnets",
             "DescribeSecurityGroups", "DescribeKeyPairs", "DescribeImages", "DescribeInstanceTypeOfferings",
             "DescribeInstances", "DescribeSpotPriceHistory", "DescribeLaunchTemplates", "DescribeInstanceStatus"]
    for name in names:
        em.emit(t, key, "ec2.amazonaws.com", name, region=region, req={"filterSet": {}} if name != "DescribeRegions"
                else {"regionSet": {}, "allRegions": True})
        t += rng.randint(3, 14)
    t = epoch(inc["run_at"])
    rid = em.uuid()
    req, resp = cat.run_instances(rng, t, PROD, region, inc["instance_type"], inc["instance_ids"], name="worker",
                                  request_id=rid)
    em.emit(t, key, "ec2.amazonaws.com", "RunInstances", region=region, req=req, resp=resp, ro=False, request_id=rid)


def plant(em: Emitter) -> None:
    """Emit every incident of :data:`INCIDENTS` into ``em``."""
    _bucket_deletion(em)
    _ssh_open(em)
    _huge_instances(em)
    _root_login(em)
    _rare_region(em)

