"""Request / response shapes of the API calls the sample logs contain.

The shapes follow the real records in ``/work/shared/cloudtrail/examples`` (EC2's
``{"items": [...]}`` lists, S3's ``host`` lists, epoch-millisecond ``launchTime``).

>>> req, resp = sg_ingress("sg-1", "tcp", 22, 22, "0.0.0.0/0", rule_id="sgr-1", account="1", request_id="r")
>>> req["ipPermissions"]["items"][0]["ipRanges"]["items"][0]["cidrIp"]
'0.0.0.0/0'
"""

from __future__ import annotations

import random

from trailkit.samples.identities import DEV, PROD, rand_hex

BUCKETS = {  # bucket -> (account, region)
    "acme-prod-customer-exports": (PROD, "eu-west-1"),
    "acme-prod-web-assets": (PROD, "us-east-1"),
    "acme-prod-logs-111122223333": (PROD, "us-east-1"),
    "acme-prod-data-lake": (PROD, "eu-west-1"),
    "acme-prod-backups": (PROD, "us-west-2"),
    "acme-dev-artifacts": (DEV, "us-west-2"),
    "acme-dev-terraform-state": (DEV, "us-east-1"),
}
AMIS = {"us-east-1": "ami-0c7217cdde317cfec", "eu-west-1": "ami-0905a3c97561e0b69",
        "us-west-2": "ami-008fe2fc65df48dac", "ap-southeast-3": "ami-0f9bc1a5d8e1f2c43"}
SUBNETS = {"us-east-1": "subnet-0a1b2c3d4e5f60711", "eu-west-1": "subnet-0b2c3d4e5f6071822",
           "us-west-2": "subnet-0c3d4e5f607182933", "ap-southeast-3": "subnet-0d4e5f60718293a44"}
VPCS = {"us-east-1": "vpc-0e1f2a3b4c5d6e7f8", "eu-west-1": "vpc-0f2a3b4c5d6e7f809",
        "us-west-2": "vpc-0a3b4c5d6e7f80912", "ap-southeast-3": "vpc-0b4c5d6e7f8091a23"}
ARCH = {"p4d.24xlarge": ("x86_64", 48, 2), "x2iedn.32xlarge": ("x86_64", 64, 2), "g5.48xlarge": ("x86_64", 96, 2),
        "c5.4xlarge": ("x86_64", 8, 2), "m5.large": ("x86_64", 1, 2), "t3.small": ("x86_64", 1, 2),
        "t2.micro": ("x86_64", 1, 1), "t3.medium": ("x86_64", 1, 2), "m6i.xlarge": ("x86_64", 2, 2)}


def _items(xs: list) -> dict:
    return {"items": xs} if xs else {}


def run_instances(rng: random.Random, t: int, account: str, region: str, itype: str | None, ids: list[str], *,
                  actual_type: str | None = None, launch_template: dict | None = None, key_name: str | None = None,
                  name: str = "dev-box", sg: str = "sg-0d1e2f3a4b5c6d7e8", request_id: str = "") -> tuple[dict, dict]:
    """``RunInstances`` request and response launching ``ids`` (``itype`` None → from the template)."""
    real = itype or actual_type or "t3.micro"
    az = f"{region}{'abc'[len(ids) % 3]}"
    item: dict = {"minCount": len(ids), "maxCount": len(ids)}
    if not launch_template:
        item = {"imageId": AMIS[region], **item}
    if key_name:
        item["keyName"] = key_name
    req: dict = {"instancesSet": {"items": [item]}}
    if itype:
        req = {"instanceType": itype, **req}
    if launch_template:
        req["launchTemplate"] = launch_template
    req.update({"blockDeviceMapping": {}, "monitoring": {"enabled": False}, "subnetId": SUBNETS[region],
                "disableApiTermination": False, "disableApiStop": False, "clientToken": rand_hex(rng, 32),
                "tagSpecificationSet": {"items": [{"resourceType": "instance",
                                                   "tags": [{"key": "Name", "value": name}]}]}})
    arch, cores, threads = ARCH.get(real, ("x86_64", 2, 2))
    insts = []
    for i, iid in enumerate(ids):
        ip4 = f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(4, 254)}"
        eni = "eni-" + rand_hex(rng, 17)
        insts.append({
            "instanceId": iid, "imageId": AMIS[region], "instanceState": {"code": 0, "name": "pending"},
            "privateDnsName": f"ip-{ip4.replace('.', '-')}.{region}.compute.internal", "keyName": key_name,
            "amiLaunchIndex": i, "productCodes": {}, "instanceType": real, "launchTime": t * 1000,
            "placement": {"availabilityZone": az, "tenancy": "default"}, "monitoring": {"state": "disabled"},
            "subnetId": SUBNETS[region], "vpcId": VPCS[region], "privateIpAddress": ip4,
            "stateReason": {"code": "pending", "message": "pending"}, "architecture": arch,
            "rootDeviceType": "ebs", "rootDeviceName": "/dev/xvda", "blockDeviceMapping": {},
            "virtualizationType": "hvm", "hypervisor": "xen", "tagSet": {"items": [{"key": "Name", "value": name}]},
            "groupSet": {"items": [{"groupId": sg, "groupName": "default"}]}, "sourceDestCheck": True,
            "networkInterfaceSet": {"items": [{
                "networkInterfaceId": eni, "subnetId": SUBNETS[region], "vpcId": VPCS[region], "ownerId": account,
                "status": "in-use", "macAddress": ":".join(rand_hex(rng, 2) for _ in range(6)),
                "privateIpAddress": ip4, "sourceDestCheck": True, "interfaceType": "interface",
                "groupSet": {"items": [{"groupId": sg, "groupName": "default"}]},
                "attachment": {"attachmentId": "eni-attach-" + rand_hex(rng, 17), "deviceIndex": 0,
                               "networkCardIndex": 0, "status": "attaching", "attachTime": t * 1000,
                               "deleteOnTermination": True},
                "privateIpAddressesSet": {"item": [{"privateIpAddress": ip4, "primary": True}]},
                "ipv6AddressesSet": {}, "tagSet": {}}]},
            "ebsOptimized": False, "enaSupport": True, "cpuOptions": {"coreCount": cores, "threadsPerCore": threads},
            "capacityReservationSpecification": {"capacityReservationPreference": "open"},
            "enclaveOptions": {"enabled": False},
            "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2,
                                "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled",
                                "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
            "maintenanceOptions": {"autoRecovery": "default"}, "currentInstanceBootMode": "uefi"})
    if not key_name:
        for inst in insts:
            del inst["keyName"]
    resp = {"requestId": request_id, "reservationId": "r-" + rand_hex(rng, 17), "ownerId": account,
            "groupSet": {}, "instancesSet": {"items": insts}}
    return req, resp


_STATES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


def state_change(ids: list[str], current: str, previous: str, *, force: bool | None = None,
                 request_id: str = "") -> tuple[dict, dict]:
    """Stop/Start/TerminateInstances request and response."""
    req: dict = {"instancesSet": {"items": [{"instanceId": i} for i in ids]}}
    if force is not None:
        req["force"] = force
    resp = {"requestId": request_id, "instancesSet": {"items": [
        {"instanceId": i, "currentState": {"code": _STATES[current], "name": current},
         "previousState": {"code": _STATES[previous], "name": previous}} for i in ids]}}
    return req, resp


def permission(proto: str, lo: int, hi: int, cidr: str, desc: str | None = None) -> dict:
    """One ``ipPermissions`` item with an IPv4 range."""
    rng_item = {"cidrIp": cidr, **({"description": desc} if desc else {})}
    return {"ipProtocol": proto, "fromPort": lo, "toPort": hi, "groups": {}, "ipRanges": {"items": [rng_item]},
            "ipv6Ranges": {}, "prefixListIds": {}}


def rule(account: str, group_id: str, rule_id: str, proto: str, lo: int, hi: int, cidr: str,
         desc: str | None = None) -> dict:
    """One ``securityGroupRuleSet`` item."""
    r = {"groupOwnerId": account, "groupId": group_id, "securityGroupRuleId": rule_id, "isEgress": False,
         "ipProtocol": proto, "fromPort": lo, "toPort": hi, "cidrIpv4": cidr}
    if desc:
        r["description"] = desc
    return r


def sg_ingress(group_id: str, proto: str, lo: int, hi: int, cidr: str, *, rule_id: str, account: str,
               request_id: str, desc: str | None = None, flat: bool = False) -> tuple[dict, dict]:
    """``AuthorizeSecurityGroupIngress`` request (``ipPermissions`` or flat form) and response."""
    if flat:
        req = {"groupId": group_id, "ipPermissions": {}, "ipProtocol": proto, "fromPort": lo, "toPort": hi,
               "cidrIp": cidr}
    else:
        req = {"groupId": group_id, "ipPermissions": {"items": [permission(proto, lo, hi, cidr, desc)]}}
    resp = {"requestId": request_id, "_return": True,
            "securityGroupRuleSet": {"items": [rule(account, group_id, rule_id, proto, lo, hi, cidr, desc)]}}
    return req, resp


def sg_revoke(group_id: str, proto: str, lo: int, hi: int, cidr: str, *, rule_id: str, account: str,
              request_id: str) -> tuple[dict, dict]:
    """``RevokeSecurityGroupIngress`` of one IPv4 permission, with the revoked rule in the response."""
    req = {"groupId": group_id, "ipPermissions": {"items": [permission(proto, lo, hi, cidr)]}}
    resp = {"requestId": request_id, "_return": True,
            "revokedSecurityGroupRuleSet": {"items": [rule(account, group_id, rule_id, proto, lo, hi, cidr)]}}
    return req, resp


def access_denied(arn: str, action: str, resource: str = "*") -> tuple[str, str]:
    """IAM-style AccessDenied error pair."""
    return ("AccessDenied", f"User: {arn} is not authorized to perform: {action} on resource: {resource} "
                            f"because no identity-based policy allows the {action} action")


def ec2_unauthorized(rng: random.Random, arn: str, action: str, resource: str) -> tuple[str, str]:
    """EC2's ``Client.UnauthorizedOperation`` with an encoded authorization message."""
    blob = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", k=380))
    return ("Client.UnauthorizedOperation",
            f"You are not authorized to perform this operation. User: {arn} is not authorized to perform: "
            f"{action} on resource: {resource} because no identity-based policy allows the {action} action. "
            f"Encoded authorization failure message: {blob}")


# -- the everyday API menu --------------------------------------------------------------
# (source, name, readOnly, request builder(rng, region) -> dict | None); S3 calls are separate.
def _instances_filter(rng: random.Random, region: str) -> dict:
    return {"instancesSet": {}, "filterSet": {"items": [{"name": "tag:Name", "valueSet": {"items": [
        {"value": rng.choice(["web-*", "api-*", "worker-*", "bastion"])}]}}]}}


def _none(rng: random.Random, region: str) -> None:
    return None


def _max(n: int):
    return lambda rng, region: {"maxResults": n}


def _fn(rng: random.Random, region: str) -> dict:
    return {"functionName": rng.choice(["orders-api", "export-customers", "thumbnailer", "sg-remediator"])}


def _log_group(rng: random.Random, region: str) -> dict:
    return {"logGroupName": "/aws/lambda/" + rng.choice(["orders-api", "export-customers", "thumbnailer"]),
            "startTime": 1741500000000, "filterPattern": rng.choice(["ERROR", "Task timed out", "\"status\": 500"]),
            "interleaved": True}


def _role(rng: random.Random, region: str) -> dict:
    return {"roleName": rng.choice(["DeveloperRole", "S3AdminRole", "web-server-role", "orders-api-lambda-role"])}


def _table(rng: random.Random, region: str) -> dict:
    return {"tableName": rng.choice(["orders", "customers", "sessions"])}


def _param(rng: random.Random, region: str) -> dict:
    return {"name": rng.choice(["/app/prod/db-host", "/app/prod/feature-flags", "/app/shared/sentry-dsn"]),
            "withDecryption": True}


def _secret(rng: random.Random, region: str) -> dict:
    return {"secretId": rng.choice(["prod/orders/db", "prod/stripe/api-key", "shared/datadog"])}


def _kms(rng: random.Random, region: str) -> dict:
    return {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "encryptionContext": {"aws:lambda:FunctionArn": "arn:aws:lambda:" + region + ":111122223333:function:orders-api"}}


def _stack(rng: random.Random, region: str) -> dict:
    return {"stackName": rng.choice(["orders-api", "network-base", "observability"])}


def _tags(rng: random.Random, region: str) -> dict:
    return {"resourcesSet": {"items": [{"resourceId": "i-" + rand_hex(rng, 17)}]},
            "tagSet": {"items": [{"key": rng.choice(["Owner", "CostCenter", "Env"]),
                                  "value": rng.choice(["platform", "data", "dev", "4711"])}]}}


def _update_code(rng: random.Random, region: str) -> dict:
    return {"functionName": rng.choice(["orders-api", "thumbnailer"]), "publish": True,
            "s3Bucket": "acme-dev-artifacts", "s3Key": f"builds/{rand_hex(rng, 12)}.zip", "dryRun": False}


def _log_stream(rng: random.Random, region: str) -> dict:
    return {"logGroupName": "/app/" + rng.choice(["web", "api", "worker"]),
            "logStreamName": f"2026/03/{rng.randint(9, 13):02d}/[$LATEST]{rand_hex(rng, 32)}"}


def _query(rng: random.Random, region: str) -> dict:
    return {"queryString": "SELECT region, count(*) FROM sales.orders WHERE day = current_date - interval '1' day GROUP BY 1",
            "clientRequestToken": rand_hex(rng, 32), "queryExecutionContext": {"database": "sales"},
            "workGroup": "reporting"}


def _sgs(rng: random.Random, region: str) -> dict:
    return {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {"items": [
        {"name": "vpc-id", "valueSet": {"items": [{"value": VPCS.get(region, "vpc-0")}]}}]}}


MENU: dict[str, list[tuple[str, str, bool, object]]] = {
    "ec2_read": [
        ("ec2.amazonaws.com", "DescribeInstances", True, _instances_filter),
        ("ec2.amazonaws.com", "DescribeSecurityGroups", True, _sgs),
        ("ec2.amazonaws.com", "DescribeVpcs", True, lambda r, g: {"vpcSet": {}, "filterSet": {}}),
        ("ec2.amazonaws.com", "DescribeSubnets", True, lambda r, g: {"subnetSet": {}, "filterSet": {}}),
        ("ec2.amazonaws.com", "DescribeVolumes", True, lambda r, g: {"volumeSet": {}, "filterSet": {}, "maxResults": 500}),
        ("ec2.amazonaws.com", "DescribeInstanceStatus", True, lambda r, g: {"instancesSet": {}, "filterSet": {}, "includeAllInstances": False}),
        ("ec2.amazonaws.com", "DescribeImages", True, lambda r, g: {"executableBySet": {}, "imagesSet": {"items": [{"imageId": AMIS.get(g, "ami-0")}]}, "ownersSet": {}, "filterSet": {}}),
        ("ec2.amazonaws.com", "DescribeRegions", True, lambda r, g: {"regionSet": {}, "allRegions": False}),
        ("ec2.amazonaws.com", "DescribeAvailabilityZones", True, lambda r, g: {"availabilityZoneSet": {}, "availabilityZoneIdSet": {}}),
        ("ec2.amazonaws.com", "DescribeNetworkInterfaces", True, lambda r, g: {"networkInterfaceIdSet": {}, "filterSet": {}}),
    ],
    "iam_read": [
        ("iam.amazonaws.com", "ListUsers", True, _none),
        ("iam.amazonaws.com", "ListRoles", True, _max(100)),
        ("iam.amazonaws.com", "GetRole", True, _role),
        ("iam.amazonaws.com", "ListAttachedRolePolicies", True, _role),
        ("iam.amazonaws.com", "GetAccountSummary", True, _none),
        ("iam.amazonaws.com", "ListAccessKeys", True, lambda r, g: {"userName": r.choice(["alice.admin", "ci-deploy", "carol.dev"])}),
        ("iam.amazonaws.com", "ListPolicies", True, lambda r, g: {"scope": "Local", "onlyAttached": False, "maxItems": 100}),
    ],
    "dev_read": [
        ("lambda.amazonaws.com", "ListFunctions20150331", True, _none),
        ("lambda.amazonaws.com", "GetFunction20150331v2", True, _fn),
        ("logs.amazonaws.com", "DescribeLogGroups", True, _none),
        ("logs.amazonaws.com", "FilterLogEvents", True, _log_group),
        ("dynamodb.amazonaws.com", "DescribeTable", True, _table),
        ("dynamodb.amazonaws.com", "ListTables", True, _none),
        ("ecr.amazonaws.com", "GetAuthorizationToken", True, lambda r, g: {"registryIds": ["111122223333"]}),
        ("cloudformation.amazonaws.com", "DescribeStacks", True, _stack),
        ("monitoring.amazonaws.com", "DescribeAlarms", True, lambda r, g: {"stateValue": "ALARM", "maxRecords": 100}),
        ("sts.amazonaws.com", "GetCallerIdentity", True, _none),
    ],
    "dev_write": [
        ("ec2.amazonaws.com", "CreateTags", False, _tags),
        ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", False, _update_code),
        ("logs.amazonaws.com", "PutRetentionPolicy", False, lambda r, g: {"logGroupName": "/app/worker", "retentionInDays": 30}),
        ("ssm.amazonaws.com", "PutParameter", False, lambda r, g: {"name": "/app/dev/feature-flags", "type": "String", "overwrite": True}),
    ],
    "ops_read": [
        ("cloudtrail.amazonaws.com", "DescribeTrails", True, lambda r, g: {"includeShadowTrails": True}),
        ("cloudtrail.amazonaws.com", "LookupEvents", True, lambda r, g: {"maxResults": 50, "lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "ConsoleLogin"}]}),
        ("guardduty.amazonaws.com", "ListFindings", True, lambda r, g: {"detectorId": "6ab6e6ee780ed494f3b7ca56acdc74df", "maxResults": 50}),
        ("config.amazonaws.com", "DescribeComplianceByConfigRule", True, _none),
        ("organizations.amazonaws.com", "ListAccounts", True, _none),
        ("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", True, _none),
        ("elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", True, lambda r, g: {"targetGroupArn": f"arn:aws:elasticloadbalancing:{g}:111122223333:targetgroup/web/6d0ecf831eec9f09"}),
        ("rds.amazonaws.com", "DescribeDBInstances", True, _none),
        ("autoscaling.amazonaws.com", "DescribeAutoScalingGroups", True, _none),
    ],
    "machine": [
        ("ssm.amazonaws.com", "UpdateInstanceInformation", False, lambda r, g: {"instanceId": "i-" + rand_hex(r, 17), "agentVersion": "3.3.40.0", "agentStatus": "Active", "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023", "iPAddress": f"10.0.{r.randint(0, 255)}.{r.randint(4, 254)}", "computerName": "ip-10-0-1-23.ec2.internal", "agentName": "amazon-ssm-agent", "availabilityZone": g + "a", "availabilityZoneId": "use1-az4"}),
        ("ec2messages.amazonaws.com", "GetMessages", True, lambda r, g: {"destination": "i-" + rand_hex(r, 17), "messagesRequestId": rand_hex(r, 32), "visibilityTimeoutInSeconds": 10}),
        ("kms.amazonaws.com", "Decrypt", True, _kms),
        ("secretsmanager.amazonaws.com", "GetSecretValue", True, _secret),
        ("ssm.amazonaws.com", "GetParameter", True, _param),
        ("logs.amazonaws.com", "CreateLogStream", False, _log_stream),
    ],
    "reporting": [
        ("athena.amazonaws.com", "StartQueryExecution", False, _query),
        ("athena.amazonaws.com", "GetQueryExecution", True, lambda r, g: {"queryExecutionId": f"{rand_hex(r, 8)}-{rand_hex(r, 4)}-{rand_hex(r, 4)}-{rand_hex(r, 4)}-{rand_hex(r, 12)}"}),
        ("glue.amazonaws.com", "GetTable", True, lambda r, g: {"databaseName": "sales", "name": r.choice(["orders", "customers"])}),
        ("glue.amazonaws.com", "GetPartitions", True, lambda r, g: {"databaseName": "sales", "tableName": "orders", "expression": "day >= '2026-03-01'"}),
    ],
    "config": [
        ("ec2.amazonaws.com", "DescribeSecurityGroups", True, _sgs),
        ("ec2.amazonaws.com", "DescribeInstances", True, lambda r, g: {"instancesSet": {}, "filterSet": {}}),
        ("ec2.amazonaws.com", "DescribeVolumes", True, lambda r, g: {"volumeSet": {}, "filterSet": {}}),
        ("ec2.amazonaws.com", "DescribeNetworkAcls", True, lambda r, g: {"networkAclIdSet": {}, "filterSet": {}}),
        ("ec2.amazonaws.com", "DescribeRouteTables", True, lambda r, g: {"routeTableIdSet": {}, "filterSet": {}}),
        ("iam.amazonaws.com", "GetAccountAuthorizationDetails", True, lambda r, g: {"filter": ["Role", "User"], "maxItems": 100}),
        ("lambda.amazonaws.com", "ListFunctions20150331", True, _none),
        ("rds.amazonaws.com", "DescribeDBInstances", True, _none),
    ],
}
GLOBAL_SOURCES = {"iam.amazonaws.com", "organizations.amazonaws.com"}
S3_READS = ("GetBucketLocation", "GetBucketPolicy", "GetBucketAcl", "GetBucketTagging", "GetBucketEncryption",
            "GetBucketVersioning", "GetBucketPublicAccessBlock", "GetBucketLogging")
