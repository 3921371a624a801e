"""The planted account: for each category, resources that must FAIL beside compliant twins,
in me-west-1 (Saudi Arabia), me-central-1 (UAE), me-south-1 (Bahrain) and out of region.

``plant`` creates them in moto (and, for the calls moto lacks, in the front's tables) and
returns the names under which the expected table refers to every resource id; moto's own
defaults (default VPC, security group, network ACL per region) are named too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from tests.integration.aws.conftest import ACCOUNT, Aws

KSA, UAE, BAHRAIN, IRELAND, VIRGINIA = (
    "me-west-1",
    "me-central-1",
    "me-south-1",
    "eu-west-1",
    "us-east-1",
)
SCANNED = (KSA, UAE, BAHRAIN, IRELAND)
NOT_OPTED_IN = "ap-east-1"  # listed by moto as not-opted-in: reported, not scanned
REGIONS_ARG = ",".join((*SCANNED, NOT_OPTED_IN))
ROLE = f"arn:aws:iam::{ACCOUNT}:role/replication"


def tags(cls: str | None, **more: str) -> list[dict[str, str]]:
    found = {"data-classification": cls} if cls else {}
    found.update(more)
    return [{"Key": k, "Value": v} for k, v in found.items()]


class Planter:
    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.names: dict[str, str] = {}

    def c(self, service: str, region: str) -> Any:
        return self.aws.client(service, region)

    def name(self, alias: str, resource_id: str) -> str:
        self.names[resource_id] = alias
        return resource_id

    # -- KMS -----------------------------------------------------------------------------

    def key(self, alias: str, region: str, cls: str | None, *, rotate: bool) -> str:
        kms = self.c("kms", region)
        meta = kms.create_key(
            Description=alias,
            Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags(cls)],
        )["KeyMetadata"]
        if rotate:
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        self.name(f"key:{alias}", meta["Arn"])
        return str(meta["Arn"])

    # -- S3 --------------------------------------------------------------------------------

    def bucket(
        self,
        name: str,
        region: str,
        cls: str | None,
        *,
        kms_key: str | None = None,
        sse: str | None = None,
        versioned: bool = False,
        replicate_to: str | None = None,
    ) -> None:
        s3 = self.c("s3", region)
        if region == VIRGINIA:
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if cls:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags(cls)})
        if kms_key or sse:
            default: dict[str, str] = {"SSEAlgorithm": "aws:kms" if kms_key else str(sse)}
            if kms_key:
                default["KMSMasterKeyID"] = kms_key
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
                },
            )
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if replicate_to:
            s3.put_bucket_replication(
                Bucket=name,
                ReplicationConfiguration={
                    "Role": ROLE,
                    "Rules": [
                        {
                            "ID": "dr",
                            "Status": "Enabled",
                            "Priority": 1,
                            "Filter": {},
                            "DeleteMarkerReplication": {"Status": "Disabled"},
                            "Destination": {"Bucket": f"arn:aws:s3:::{replicate_to}"},
                        }
                    ],
                },
            )

    # -- EC2 -------------------------------------------------------------------------------

    def instance(self, alias: str, region: str, cls: str | None) -> str:
        ec2 = self.c("ec2", region)
        image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
        spec = [
            {"ResourceType": "instance", "Tags": tags(cls, Name=alias)},
            {"ResourceType": "volume", "Tags": tags(cls, Name=f"{alias}-root")},
        ]
        found = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=spec)[
            "Instances"
        ][0]
        iid = str(found["InstanceId"])
        self.name(f"instance:{alias}", f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{iid}")
        for mapping in ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0][
            "BlockDeviceMappings"
        ]:
            vol = mapping["Ebs"]["VolumeId"]
            self.name(f"volume:{alias}-root", f"arn:aws:ec2:{region}:{ACCOUNT}:volume/{vol}")
        return iid

    def volume(self, alias: str, region: str, cls: str | None, kms_key: str | None) -> str:
        ec2 = self.c("ec2", region)
        extra: dict[str, Any] = {"Encrypted": True, "KmsKeyId": kms_key} if kms_key else {}
        vol = ec2.create_volume(
            AvailabilityZone=f"{region}a",
            Size=8,
            TagSpecifications=[{"ResourceType": "volume", "Tags": tags(cls)}],
            **extra,
        )["VolumeId"]
        self.name(f"volume:{alias}", f"arn:aws:ec2:{region}:{ACCOUNT}:volume/{vol}")
        return str(vol)

    def snapshot(self, alias: str, region: str, volume: str, cls: str | None) -> str:
        snap = self.c("ec2", region).create_snapshot(
            VolumeId=volume, TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags(cls)}]
        )["SnapshotId"]
        self.name(f"snapshot:{alias}", f"arn:aws:ec2:{region}:{ACCOUNT}:snapshot/{snap}")
        return str(snap)

    def snapshot_copy(self, alias: str, source: str, source_region: str, region: str) -> None:
        # CopySnapshot's default description in AWS; moto leaves it empty.
        snap = self.c("ec2", region).copy_snapshot(
            SourceSnapshotId=source,
            SourceRegion=source_region,
            Description=f"[Copied {source} from {source_region}]",
        )["SnapshotId"]
        self.name(f"snapshot:{alias}", f"arn:aws:ec2:{region}:{ACCOUNT}:snapshot/{snap}")

    def security_group(
        self, alias: str, region: str, vpc: str, rules: list[dict[str, Any]]
    ) -> None:
        ec2 = self.c("ec2", region)
        gid = ec2.create_security_group(GroupName=alias, Description=alias, VpcId=vpc)["GroupId"]
        if rules:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=rules)
        self.name(f"sg:{alias}", f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{gid}")

    def name_defaults(self, region: str) -> None:
        """moto's per-region defaults, and anything a VPC creates along with it."""
        ec2 = self.c("ec2", region)
        vpc_alias = {}
        for vpc in ec2.describe_vpcs()["Vpcs"]:
            label = "default" if vpc.get("IsDefault") else _tag(vpc, "Name") or vpc["VpcId"]
            vpc_alias[vpc["VpcId"]] = label
            self.name(f"vpc:{label}@{region}", f"arn:aws:ec2:{region}:{ACCOUNT}:vpc/{vpc['VpcId']}")
        for group in ec2.describe_security_groups()["SecurityGroups"]:
            if group["GroupName"] == "default":
                label = f"sg:default-of-{vpc_alias[group['VpcId']]}@{region}"
                arn = f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{group['GroupId']}"
                self.name(label, arn)
        for acl in ec2.describe_network_acls()["NetworkAcls"]:
            kind = "default" if acl.get("IsDefault") else _tag(acl, "Name") or "custom"
            label = f"nacl:{kind}-of-{vpc_alias[acl['VpcId']]}@{region}"
            self.name(label, f"arn:aws:ec2:{region}:{ACCOUNT}:network-acl/{acl['NetworkAclId']}")


def _tag(item: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in item.get("Tags") or [] if t["Key"] == key), None)


WORLD_V4 = [{"CidrIp": "0.0.0.0/0"}]
WORLD_V6 = [{"CidrIpv6": "::/0"}]


def _tcp(port: int, high: int | None = None, v6: bool = False) -> dict[str, Any]:
    ranges = {"Ipv6Ranges": WORLD_V6} if v6 else {"IpRanges": WORLD_V4}
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": high or port, **ranges}


def plant(aws: Aws) -> dict[str, str]:
    p = Planter(aws)
    c = p.c
    now = dt.datetime.now(dt.UTC)

    # KMS: a rotated customer key in the Kingdom (and one left unrotated); a multi-Region
    # regulated key with a replica in Ireland.
    ksa_key = p.key("ksa-cmk", KSA, "regulated", rotate=True)
    p.key("ksa-unrotated", KSA, "regulated", rotate=False)
    mrk = c("kms", KSA).create_key(
        Description="mrk",
        MultiRegion=True,
        Tags=[{"TagKey": "data-classification", "TagValue": "regulated"}],
    )["KeyMetadata"]
    c("kms", KSA).enable_key_rotation(KeyId=mrk["KeyId"])
    p.name("key:mrk", mrk["Arn"])
    replica = c("kms", KSA).replicate_key(KeyId=mrk["KeyId"], ReplicaRegion=IRELAND)
    p.name("key:mrk-replica", replica["ReplicaKeyMetadata"]["Arn"])

    # S3: regulated data replicated inside the Kingdom (pass) and to Ireland (the copy fails);
    # untagged, confidential, internal and public buckets in and out of the GCC.
    p.bucket("reg-ksa-dr", KSA, "regulated", kms_key=ksa_key, versioned=True)
    p.bucket(
        "reg-ksa", KSA, "regulated", kms_key=ksa_key, versioned=True, replicate_to="reg-ksa-dr"
    )
    p.bucket("reg-leaky-dr-eu", IRELAND, "regulated", sse="AES256", versioned=True)
    p.bucket(
        "reg-leaky", KSA, "regulated", sse="AES256", versioned=True, replicate_to="reg-leaky-dr-eu"
    )
    p.bucket("untagged-uae", UAE, None)
    p.bucket("conf-uae", UAE, "confidential", sse="AES256")
    p.bucket("internal-bahrain", BAHRAIN, "internal", sse="AES256", versioned=True)
    p.bucket("internal-virginia", VIRGINIA, "Internal Use", sse="AES256", versioned=True)
    p.bucket("public-site", VIRGINIA, "public")
    p.bucket("trail-logs", KSA, "regulated", kms_key=ksa_key, versioned=True)

    # EC2: a regulated instance in the Kingdom and one in the UAE; an encrypted regulated
    # volume with a snapshot, copied to Bahrain.
    ksa_instance = p.instance("app-ksa", KSA, "regulated")
    uae_instance = p.instance("app-uae", UAE, "regulated")
    bahrain_instance = p.instance("app-bahrain", BAHRAIN, "internal")
    vol = p.volume("data-ksa", KSA, "regulated", ksa_key)
    # The backup plan "nightly-ksa" below assigns what carries backup=daily.
    c("ec2", KSA).create_tags(Resources=[vol], Tags=[{"Key": "backup", "Value": "daily"}])
    snap = p.snapshot("data-ksa", KSA, vol, "regulated")
    p.snapshot_copy("data-ksa-copy-bahrain", snap, KSA, BAHRAIN)
    c("ec2", KSA).enable_ebs_encryption_by_default()

    # RDS: a regulated Multi-AZ database in the Kingdom with a read replica in Ireland; an
    # internal single-AZ database without backups or encryption.
    ledger = c("rds", KSA).create_db_instance(
        DBInstanceIdentifier="ledger",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="ledger",
        MasterUserPassword="not-a-secret-1",
        StorageEncrypted=True,
        KmsKeyId=ksa_key,
        MultiAZ=True,
        BackupRetentionPeriod=7,
        Tags=tags("regulated"),
    )["DBInstance"]
    c("rds", IRELAND).create_db_instance_read_replica(
        DBInstanceIdentifier="ledger-eu",
        SourceDBInstanceIdentifier=ledger["DBInstanceArn"],
        DBInstanceClass="db.t3.micro",
        Tags=tags("regulated"),
    )
    c("rds", KSA).create_db_instance(
        DBInstanceIdentifier="reports",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="reports",
        MasterUserPassword="not-a-secret-2",
        StorageEncrypted=False,
        MultiAZ=False,
        BackupRetentionPeriod=0,
        Tags=tags("internal"),
    )

    # DynamoDB: regulated table with PITR and a customer key; confidential table without.
    ddb = c("dynamodb", KSA)
    key_schema = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    ddb.create_table(
        TableName="invoices",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": ksa_key},
        Tags=tags("regulated"),
        **key_schema,
    )
    ddb.update_continuous_backups(
        TableName="invoices",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    ddb.create_table(TableName="sessions", Tags=tags("confidential"), **key_schema)

    # EFS: a regulated file system replicated to the UAE (through the front: moto lacks the
    # call) and an unencrypted confidential one.
    efs = c("efs", KSA)
    fs_reg = efs.create_file_system(
        CreationToken="fs-reg", Encrypted=True, KmsKeyId=ksa_key, Tags=tags("regulated")
    )
    fs_conf = efs.create_file_system(
        CreationToken="fs-conf", Encrypted=False, Tags=tags("confidential")
    )
    p.name("efs:regulated", fs_reg["FileSystemArn"])
    p.name("efs:confidential", fs_conf["FileSystemArn"])
    aws.front.efs_replications[KSA] = [
        {
            "SourceFileSystemId": fs_reg["FileSystemId"],
            "SourceFileSystemRegion": KSA,
            "SourceFileSystemArn": fs_reg["FileSystemArn"],
            "OriginalSourceFileSystemArn": fs_reg["FileSystemArn"],
            "CreationTime": now.timestamp(),
            "Destinations": [{"Status": "ENABLED", "FileSystemId": "fs-0dr0uae", "Region": UAE}],
        }
    ]

    # AWS Backup: vaults in the Kingdom and in Ireland; a plan copying inside the Kingdom and
    # one copying to Ireland; recovery points of the ledger, and a copy of one in Ireland.
    backup = c("backup", KSA)
    vault_tags = {"data-classification": "regulated"}
    ksa_vault = backup.create_backup_vault(BackupVaultName="ksa-vault", BackupVaultTags=vault_tags)
    ksa_vault2 = backup.create_backup_vault(
        BackupVaultName="ksa-vault-2", BackupVaultTags=vault_tags
    )
    eu_vault = c("backup", IRELAND).create_backup_vault(
        BackupVaultName="eu-vault", BackupVaultTags=vault_tags
    )
    for plan_name, dest in (("nightly-ksa", ksa_vault2), ("nightly-leaky", eu_vault)):
        plan = backup.create_backup_plan(
            BackupPlan={
                "BackupPlanName": plan_name,
                "Rules": [
                    {
                        "RuleName": "daily",
                        "TargetBackupVaultName": "ksa-vault",
                        "CopyActions": [{"DestinationBackupVaultArn": dest["BackupVaultArn"]}],
                    }
                ],
            },
            BackupPlanTags=vault_tags,
        )
        p.name(f"plan:{plan_name}", plan["BackupPlanArn"])
        if (
            plan_name == "nightly-ksa"
        ):  # assigns the ledger by ARN, and anything tagged backup=daily
            aws.front.backup_selections[(KSA, plan["BackupPlanId"])] = {
                "sel-1": {
                    "SelectionName": "ledger-and-daily",
                    "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup",
                    "Resources": [ledger["DBInstanceArn"]],
                    "ListOfTags": [
                        {
                            "ConditionType": "STRINGEQUALS",
                            "ConditionKey": "backup",
                            "ConditionValue": "daily",
                        }
                    ],
                }
            }
    point = {
        "ResourceArn": ledger["DBInstanceArn"],
        "ResourceType": "RDS",
        "Status": "COMPLETED",
        "IsEncrypted": True,
        "CreationDate": now.timestamp(),
    }
    aws.front.recovery_points[(KSA, "ksa-vault")] = [
        {
            **point,
            "RecoveryPointArn": f"arn:aws:backup:{KSA}:{ACCOUNT}:recovery-point:ledger-1",
            "BackupVaultArn": ksa_vault["BackupVaultArn"],
        }
    ]
    aws.front.recovery_points[(IRELAND, "eu-vault")] = [
        {
            **point,
            "RecoveryPointArn": f"arn:aws:backup:{IRELAND}:{ACCOUNT}:recovery-point:ledger-1-copy",
            "BackupVaultArn": eu_vault["BackupVaultArn"],
            "SourceBackupVaultArn": ksa_vault["BackupVaultArn"],
        }
    ]

    # Firewall: in a segmented VPC of the Kingdom (flow logs, Network Firewall, default group
    # emptied) a web group open on 443 only, beside groups open on admin, database, risky,
    # wide and all ports.
    ec2 = c("ec2", KSA)
    vpc = ec2.create_vpc(
        CidrBlock="10.20.0.0/16",
        TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "segmented"}]}
        ],
    )["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone=f"{KSA}a")
    default_sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    if default_sg.get("IpPermissions"):
        ec2.revoke_security_group_ingress(
            GroupId=default_sg["GroupId"], IpPermissions=default_sg["IpPermissions"]
        )
    if default_sg.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(
            GroupId=default_sg["GroupId"], IpPermissions=default_sg["IpPermissionsEgress"]
        )
    flow = ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::trail-logs",
    )
    assert not flow.get("Unsuccessful"), flow
    # A flat VPC in the UAE: no flow logs, no firewall.
    c("ec2", UAE).create_vpc(
        CidrBlock="10.30.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "flat"}]}],
    )
    c("network-firewall", KSA).create_firewall(
        FirewallName="segmented",
        FirewallPolicyArn=f"arn:aws:network-firewall:{KSA}:{ACCOUNT}:firewall-policy/strict",
        VpcId=vpc,
        SubnetMappings=[{"SubnetId": subnet["Subnet"]["SubnetId"]}],
    )
    acl = ec2.create_network_acl(
        VpcId=vpc,
        TagSpecifications=[
            {"ResourceType": "network-acl", "Tags": [{"Key": "Name", "Value": "web-tier"}]}
        ],
    )["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(
        NetworkAclId=acl,
        RuleNumber=100,
        Protocol="6",
        RuleAction="allow",
        Egress=False,
        CidrBlock="0.0.0.0/0",
        PortRange={"From": 443, "To": 443},
    )
    p.security_group("web", KSA, vpc, [_tcp(443), _tcp(443, v6=True)])
    p.security_group("admin-open", KSA, vpc, [_tcp(22)])
    p.security_group("db-open", KSA, vpc, [_tcp(5432, v6=True)])
    p.security_group("smb-open", KSA, vpc, [_tcp(445)])
    p.security_group("wide-open", KSA, vpc, [_tcp(1024, 65535)])
    p.security_group("all-open", KSA, vpc, [{"IpProtocol": "-1", "IpRanges": WORLD_V4}])
    p.security_group(
        "internal-only",
        KSA,
        vpc,
        [
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            }
        ],
    )

    # Detection: GuardDuty on in the Kingdom, suspended in the UAE, absent elsewhere;
    # Inspector on in the Kingdom, switched off everywhere else.
    c("guardduty", KSA).create_detector(Enable=True)
    c("guardduty", UAE).create_detector(Enable=False)
    for region in SCANNED:
        inspector = c("inspector2", region)
        inspector.enable(resourceTypes=["EC2"], accountIds=[ACCOUNT])
        if region != KSA:
            inspector.disable(resourceTypes=["EC2"], accountIds=[ACCOUNT])

    # Patching (the front answers SSM): the Kingdom's instance scanned today and clean, the
    # UAE's missing a critical patch, Bahrain's not managed at all.
    clean = {"MissingCount": 0, "FailedCount": 0, "CriticalNonCompliantCount": 0}
    aws.front.ssm_instances[KSA] = {ksa_instance: "Online"}
    aws.front.ssm_instances[UAE] = {uae_instance: "Online"}
    aws.front.ssm_patch_states[KSA] = {
        ksa_instance: {
            **clean,
            "SecurityNonCompliantCount": 0,
            "Operation": "Scan",
            "OperationStartTime": now.timestamp() - 3600,
            "OperationEndTime": now.timestamp() - 3000,
            "PatchGroup": "",
            "BaselineId": "pb-0",
        }
    }
    aws.front.ssm_patch_states[UAE] = {
        uae_instance: {
            **clean,
            "MissingCount": 3,
            "CriticalNonCompliantCount": 1,
            "SecurityNonCompliantCount": 2,
            "Operation": "Scan",
            "OperationStartTime": now.timestamp() - 3600,
            "OperationEndTime": now.timestamp() - 3000,
            "PatchGroup": "",
            "BaselineId": "pb-0",
        }
    }
    del bahrain_instance  # unmanaged on purpose

    # IAM: a console user with MFA beside one without; the root user has no MFA in moto.
    iam = c("iam", VIRGINIA)
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
        iam.create_login_profile(UserName=user, Password="Not-a-secret-3!")
        iam.create_access_key(UserName=user)
        p.name(f"user:{user}", f"arn:aws:iam::{ACCOUNT}:user/{user}")
    mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="alice",
        SerialNumber=mfa["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )

    # CloudTrail: a multi-region trail, logging, into the Kingdom's bucket.
    trail = c("cloudtrail", KSA)
    trail.create_trail(Name="org-trail", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    trail.start_logging(Name="org-trail")
    # A second trail, stopped.
    trail.create_trail(Name="stopped-trail", S3BucketName="trail-logs")

    for region in SCANNED:
        p.name_defaults(region)
    _name_keys(p)
    return p.names


def _name_keys(p: Planter) -> None:
    """Keys moto made on its own (none expected) are named after their description."""
    for region in SCANNED:
        kms = p.c("kms", region)
        for key in kms.list_keys()["Keys"]:
            meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if meta["Arn"] not in p.names:
                p.name(f"key:{meta.get('Description') or 'unnamed'}@{region}", meta["Arn"])


Alias = Callable[[str], str]


# RDS names its automated snapshots after the time they were taken.
_AUTOMATED = re.compile(r"snapshot:rds:([a-z0-9-]+?)-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}")


def aliaser(names: dict[str, str]) -> Alias:
    """Replace every planted resource id in a string by its name (longest first)."""
    order = sorted(names, key=len, reverse=True)

    def alias(text: str) -> str:
        for resource_id in order:
            if resource_id in text:
                text = text.replace(resource_id, names[resource_id])
        return _AUTOMATED.sub(r"snapshot:rds:\1-<automated>", text)

    return alias
