"""Build CloudTrail records in AWS's key order, and the STS calls that create sessions.

:class:`Emitter` collects ``(epoch_seconds, record)`` pairs; the writer groups them into
delivery files. Every record starts with ``eventVersion``.

>>> import random
>>> from trailkit.samples.identities import PROD, iam_user, epoch
>>> em = Emitter(random.Random(1))
>>> rec = em.emit(epoch("2026-03-10T10:00:00Z"), iam_user(PROD, "carol.dev"), "sts.amazonaws.com",
...               "GetCallerIdentity")
>>> list(rec)[:3]
['eventVersion', 'userIdentity', 'eventTime']
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from trailkit.samples.identities import (
    HOME,
    Actor,
    Role,
    aws_account,
    iso,
    rand_hex,
    rand_id,
    session_actor,
)

_VERSION = {"s3.amazonaws.com": "1.10", "ec2.amazonaws.com": "1.10", "sts.amazonaws.com": "1.08",
            "iam.amazonaws.com": "1.08", "signin.amazonaws.com": "1.09", "kms.amazonaws.com": "1.08"}
_GLOBAL_HOST = {"iam.amazonaws.com", "sts.amazonaws.com", "s3.amazonaws.com"}
_TLS_CIPHER = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256")


def host(source: str, region: str) -> str:
    """The ``clientProvidedHostHeader`` for a call to ``source`` in ``region``."""
    if source in _GLOBAL_HOST and region == HOME:
        return source
    return f"{source.split('.')[0]}.{region}.amazonaws.com"


def expiration(t: int) -> str:
    """STS credential expiry text as CloudTrail shows it (``Mar 11, 2026, 3:39:12 AM``)."""
    d = datetime.fromtimestamp(t, UTC)
    return f"{d:%b} {d.day}, {d.year}, {(d.hour % 12) or 12}:{d:%M:%S} {'AM' if d.hour < 12 else 'PM'}"


class Emitter:
    """Collects generated records; all randomness comes from ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[tuple[int, dict]] = []

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def emit(self, t: int, actor: Actor, source: str, name: str, *, region: str = HOME,
             req: dict | None = None, resp: dict | None = None, ro: bool = True,
             error: tuple[str | None, str] | None = None, addl: dict | None = None, resources: list | None = None,
             etype: str = "AwsApiCall", data: bool = False, account: str | None = None,
             ip: str | None = None, ua: str | None = None, request_id: str | None = None,
             shared_id: str | None = None, vpce: str | None = None, tls_host: str | None = None) -> dict:
        """Append one record and return it (keys in the order AWS delivers them)."""
        rec: dict = {"eventVersion": _VERSION.get(source, "1.09"), "userIdentity": actor.identity,
                     "eventTime": iso(t), "eventSource": source, "eventName": name, "awsRegion": region,
                     "sourceIPAddress": ip or actor.ip, "userAgent": ua or actor.ua}
        if error:  # (code, message); code None for errors that carry only a message
            if error[0]:
                rec["errorCode"] = error[0]
            rec["errorMessage"] = error[1]
        rec["requestParameters"] = req
        rec["responseElements"] = resp
        if addl is not None:
            rec["additionalEventData"] = addl
        rec["requestID"] = request_id or self.uuid()
        rec["eventID"] = self.uuid()
        rec["readOnly"] = ro
        if resources:
            rec["resources"] = resources
        rec["eventType"] = etype
        rec["managementEvent"] = not data
        rec["recipientAccountId"] = account or actor.account
        if shared_id:
            rec["sharedEventID"] = shared_id
        if vpce:
            rec["vpcEndpointId"] = vpce
            rec["vpcEndpointAccountId"] = account or actor.account
        rec["eventCategory"] = "Data" if data else "Management"
        if actor.tls and etype == "AwsApiCall" and not actor.console:
            rec["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": self.rng.choice(_TLS_CIPHER[:2]),
                                 "clientProvidedHostHeader": tls_host or host(source, region)}
        if actor.console:
            rec["sessionCredentialFromConsole"] = "true"
        self.events.append((t, rec))
        return rec

    # -- S3 ----------------------------------------------------------------------------
    def s3(self, t: int, actor: Actor, name: str, bucket: str | None, *, region: str, ro: bool = True,
           req: dict | None = None, resp: dict | None = None, error: tuple[str | None, str] | None = None,
           data: bool = False, key: str | None = None, bytes_out: int = 0, bytes_in: int = 0,
           account: str | None = None) -> dict:
        """An S3 call with S3's request id, ``additionalEventData`` and ``resources``."""
        account = account or actor.account
        if bucket:
            h = f"{bucket}.s3.{region}.amazonaws.com"
            params = {"bucketName": bucket, "Host": h} if data else {"bucketName": bucket, "host": [h]}
        else:
            h = "s3.amazonaws.com"
            params = {"host": [h]}
        if key:
            params["key"] = key
        params.update(req or {})
        resources = None
        if bucket:
            resources = [{"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
            if key:
                resources.insert(0, {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
        addl = {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": bytes_in, "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": rand_id(self.rng, "", 56, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") + "=",
                "bytesTransferredOut": bytes_out}
        return self.emit(t, actor, "s3.amazonaws.com", name, region=region, req=params, resp=resp, ro=ro,
                         error=error, addl=addl, resources=resources, data=data, account=account,
                         request_id=rand_hex(self.rng, 16).upper(), tls_host=h)

    # -- STS: every session's credentials come from one of these ------------------------
    def _credentials(self, t: int, key: str, duration: int) -> dict:
        token = "IQoJb3JpZ2luX2VjE" + rand_id(self.rng, "", 120, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+")
        return {"accessKeyId": key, "sessionToken": token, "expiration": expiration(t + duration)}

    def assume_role(self, t: int, caller: Actor, role: Role, session: str, *, ip: str | None = None,
                    ua: str | None = None, key: str | None = None, duration: int = 3600,
                    invoked_by: str | None = None, ec2: bool = False, mfa: bool = False,
                    source_identity: str | None = None, console: bool = False) -> Actor:
        """Emit ``AssumeRole`` by ``caller`` and return the new session (calls from ``ip``/``ua``)."""
        key = key or rand_id(self.rng, "ASIA")
        req: dict = {"roleArn": role.arn, "roleSessionName": session, "durationSeconds": duration}
        if source_identity:
            req["sourceIdentity"] = source_identity
        resp: dict = {"credentials": self._credentials(t, key, duration),
                      "assumedRoleUser": {"assumedRoleId": f"{role.role_id}:{session}",
                                          "arn": role.session_arn(session)}}
        if source_identity:
            resp["sourceIdentity"] = source_identity
        res = [{"accountId": role.account, "type": "AWS::IAM::Role", "ARN": role.arn}]
        if caller.account != role.account:  # cross-account: one copy per account, as AWS delivers it
            shared, rid = self.uuid(), self.uuid()
            self.emit(t, caller, "sts.amazonaws.com", "AssumeRole", req=req, resp=resp, resources=res,
                      account=caller.account, shared_id=shared, request_id=rid)
            other = aws_account(caller.identity.get("principalId", ""), caller.account, ip=caller.ip,
                                ua=caller.ua, recipient=role.account)
            self.emit(t, other, "sts.amazonaws.com", "AssumeRole", req=req, resp=resp, resources=res,
                      account=role.account, shared_id=shared, request_id=rid)
        else:
            self.emit(t, caller, "sts.amazonaws.com", "AssumeRole", req=req, resp=resp, resources=res,
                      account=role.account)
        return session_actor(role, session, key, t, ip=ip or caller.ip, ua=ua or caller.ua, mfa=mfa,
                             invoked_by=invoked_by, ec2=ec2, source_identity=source_identity, console=console)

    def assume_role_with_saml(self, t: int, caller: Actor, role: Role, provider_arn: str, *, ua: str,
                              duration: int = 43200) -> Actor:
        """``AssumeRoleWithSAML`` as IAM Identity Center does it; the session name is the e-mail."""
        email = caller.identity["userName"]
        key = rand_id(self.rng, "ASIA")
        req = {"sAMLAssertionID": "_" + self.uuid(), "roleSessionName": email, "durationSeconds": duration,
               "roleArn": role.arn, "principalArn": provider_arn}
        resp = {"subjectType": "persistent",
                "issuer": "https://portal.sso.us-east-1.amazonaws.com/saml/assertion/MTExMTIyMjIzMzMzX2lucy1hMWIy",
                "credentials": self._credentials(t, key, duration),
                "nameQualifier": caller.identity["identityProvider"],
                "assumedRoleUser": {"assumedRoleId": f"{role.role_id}:{email}", "arn": role.session_arn(email)},
                "subject": email, "audience": "https://signin.aws.amazon.com/saml"}
        res = [{"accountId": role.account, "type": "AWS::IAM::Role", "ARN": role.arn},
               {"accountId": role.account, "type": "AWS::IAM::SAMLProvider", "ARN": provider_arn}]
        self.emit(t, caller, "sts.amazonaws.com", "AssumeRoleWithSAML", req=req, resp=resp, resources=res,
                  account=role.account)
        return session_actor(role, email, key, t, ip=caller.ip, ua=ua, console=True)

    def assume_role_with_web_identity(self, t: int, caller: Actor, role: Role, session: str, provider_arn: str,
                                      *, ua: str, duration: int = 3600) -> Actor:
        """``AssumeRoleWithWebIdentity`` (GitHub Actions OIDC)."""
        key = rand_id(self.rng, "ASIA")
        req = {"roleArn": role.arn, "roleSessionName": session, "durationSeconds": duration}
        resp = {"subjectFromWebIdentityToken": caller.identity["userName"],
                "assumedRoleUser": {"assumedRoleId": f"{role.role_id}:{session}", "arn": role.session_arn(session)},
                "provider": provider_arn, "credentials": self._credentials(t, key, duration),
                "audience": "sts.amazonaws.com"}
        res = [{"accountId": role.account, "type": "AWS::IAM::Role", "ARN": role.arn}]
        self.emit(t, caller, "sts.amazonaws.com", "AssumeRoleWithWebIdentity", req=req, resp=resp, resources=res,
                  account=role.account)
        return session_actor(role, session, key, t, ip=caller.ip, ua=ua, web_provider=provider_arn)

    def get_federation_token(self, t: int, caller: Actor, name: str, *, duration: int = 43200) -> str:
        """``GetFederationToken`` by an IAM user; returns the federated session's key."""
        key = rand_id(self.rng, "ASIA")
        acct = caller.account
        req = {"name": name, "durationSeconds": duration,
               "policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["athena:*","glue:Get*","s3:Get*","s3:List*"],"Resource":"*"}]}'}
        resp = {"credentials": self._credentials(t, key, duration),
                "federatedUser": {"federatedUserId": f"{acct}:{name}",
                                  "arn": f"arn:aws:sts::{acct}:federated-user/{name}"},
                "packedPolicySize": 9}
        self.emit(t, caller, "sts.amazonaws.com", "GetFederationToken", req=req, resp=resp)
        return key
