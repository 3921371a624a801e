"""souqscan's AWS scan against Prowler, on one moto server (``python bench/aws.py``).

For each N (``--n 10,100,1000``) the benchmark resets moto and plants N resources of each
type per region in four regions (me-west-1, me-central-1, me-south-1, eu-west-1): S3
buckets, EC2 instances, EBS volumes and snapshots, security groups, RDS instances,
DynamoDB tables, EFS file systems and KMS keys; and N IAM users (a global type). Then it runs

* ``souqscan aws --endpoint-url … --regions …`` as a user would (a subprocess, default
  baseline and concurrency), and
* Prowler (installed into ``bench/.venv-prowler`` on first use, from PyPI) with the checks of
  the same categories: encryption, backup, network, IAM, logging/detection, patching;

both through the tests' front server, which counts every HTTP request at the server side
and answers the few read calls moto lacks. It prints wall time, requests, requests per
resource, peak RSS of each scanner process (``wait4``), their ratios, and the minimum set of
reads the scan's categories need (one paged list per type per region, plus the per-item
reads no list carries) with souqscan's ratio to it. Figures only: no assertion on time.

moto and the front run in one server process on 127.0.0.1 (so moto has one core, as in
the issue's figures), started here and stopped by its PID. Both scanners run with a guard
that refuses to resolve any name but loopback, and with moto's dummy credentials only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from the repo

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from bench import compile_souqscan  # noqa: E402
from tests.support.loopback import GUARD  # noqa: E402

REGIONS = ("me-west-1", "me-central-1", "me-south-1", "eu-west-1")
PROWLER_VENV = ROOT / "bench" / ".venv-prowler"
PROWLER_SPEC = "prowler"  # the newest release on PyPI; the version used is printed
# Prowler's checks of the categories souqscan judges (encryption, backup, network, IAM,
# logging and detection, patching), by the resource types planted here.
PROWLER_CHECKS = (
    # encryption
    "s3_bucket_default_encryption",
    "s3_bucket_kms_encryption",
    "ec2_ebs_volume_encryption",
    "ec2_ebs_snapshots_encrypted",
    "ec2_ebs_default_encryption",
    "rds_instance_storage_encrypted",
    "rds_cluster_storage_encrypted",
    "rds_snapshots_encrypted",
    "dynamodb_tables_kms_cmk_encryption_enabled",
    "efs_encryption_at_rest_enabled",
    "kms_cmk_rotation_enabled",
    # backup and availability
    "backup_plans_exist",
    "s3_bucket_object_versioning",
    "dynamodb_tables_pitr_enabled",
    "rds_instance_backup_enabled",
    "rds_instance_multi_az",
    "efs_have_backup_enabled",
    "ec2_ebs_volume_protected_by_backup_plan",
    "dynamodb_table_protected_by_backup_plan",
    "rds_instance_protected_by_backup_plan",
    # network
    "ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
    "ec2_securitygroup_allow_ingress_from_internet_to_high_risk_tcp_ports",
    "ec2_securitygroup_default_restrict_traffic",
    "ec2_networkacl_allow_ingress_any_port",
    "vpc_flow_logs_enabled",
    "networkfirewall_in_all_vpc",
    # IAM
    "iam_user_mfa_enabled_console_access",
    "iam_user_accesskey_unused",
    "iam_user_console_access_unused",
    "iam_rotate_access_key_90_days",
    "iam_no_root_access_key",
    "iam_root_mfa_enabled",
    # logging and detection
    "cloudtrail_multi_region_enabled",
    "guardduty_is_enabled",
    "inspector2_is_enabled",
    # patching
    "ssm_managed_compliant_patching",
    "ec2_instance_managed_by_ssm",
)
SCAN_TIMEOUT = 3 * 3600


# -- the server process ---------------------------------------------------------------------


# moto ignores DescribeSnapshots' OwnerIds and answers every snapshot of its hundreds of
# default Amazon AMIs: seconds per call, and nothing AWS would answer. One AMI of our own,
# loaded instead, keeps DescribeSnapshots(OwnerIds=self) to the account's snapshots.
BENCH_AMI = {
    "ami_id": "ami-0be0c0be0c0be0c0b",
    "state": "available",
    "public": True,
    "owner_id": "137112412989",
    "image_location": "amazon/bench-linux",
    "root_device_type": "ebs",
    "root_device_name": "/dev/xvda",
    "description": "the benchmark's only AMI",
    "image_type": "machine",
    "architecture": "x86_64",
    "name": "bench-linux",
    "virtualization_type": "hvm",
    "hypervisor": "xen",
}


def serve() -> None:
    """moto and the front in this process; one JSON line per command read on stdin."""
    amis = Path(tempfile.mkdtemp(prefix="souqscan-bench-amis-")) / "amis.json"
    amis.write_text(json.dumps([BENCH_AMI]), encoding="utf-8")
    os.environ["MOTO_AMIS_PATH"] = str(amis)  # read when moto's EC2 models are imported

    from tests.integration.aws import front, motoserver

    with motoserver.running() as moto, front.running(moto) as answers:
        moto_url = f"http://{moto[0]}:{moto[1]}"
        print(json.dumps({"front": answers.url, "moto": moto_url}), flush=True)
        for line in sys.stdin:
            with answers.lock:
                hits = [[s, r, n] for (s, r), n in answers.hits.items()]
                statuses = [[s, c, n] for (s, c), n in answers.statuses.items()]
            if line.strip() == "stats":
                print(json.dumps({"hits": hits, "statuses": statuses}), flush=True)


@dataclass(frozen=True)
class Tally:
    """The front's counts at one moment: requests by (service, region), answers by status."""

    hits: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    def minus(self, before: Tally) -> Tally:
        return Tally(self.hits - before.hits, self.statuses - before.statuses)

    @property
    def requests(self) -> int:
        return sum(self.hits.values())

    def failed(self) -> Counter[str]:
        """Answers other than 2xx/3xx/404, by service (moto's 500s for calls it lacks, …)."""
        out: Counter[str] = Counter()
        for (service, status), n in self.statuses.items():
            if status >= 400 and status != 404:
                out[f"{service} {status}"] += n
        return out


class Server:
    """The server process (``--serve``), stopped by its PID."""

    def __init__(self, log: Path) -> None:
        self.log = log  # moto's tracebacks for the calls it lacks
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("wb"),
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin, self.proc.stdout
        first = json.loads(self._out.readline() or "{}")
        if "front" not in first:
            self.stop()
            raise SystemExit("the moto server did not start")
        self.front, self.moto = str(first["front"]), str(first["moto"])

    def tally(self) -> Tally:
        self._in.write("stats\n")
        self._in.flush()
        doc = json.loads(self._out.readline())
        return Tally(
            Counter({(s, r): n for s, r, n in doc["hits"]}),
            Counter({(s, int(c)): n for s, c, n in doc["statuses"]}),
        )

    def cpu_seconds(self) -> float:
        """CPU time the server process (moto and the front) has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset(self) -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback http
            self.moto + "/moto-api/reset", b"", {"Content-Type": "text/plain"}, method="POST"
        )
        urllib.request.urlopen(request, timeout=120).close()  # noqa: S310

    def stop(self) -> None:
        """End of stdin stops it cleanly; a server that does not stop is ended by its PID."""
        self._in.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@contextmanager
def server(log: Path) -> Iterator[Server]:
    running = Server(log)
    try:
        yield running
    finally:
        running.stop()


# -- planting -------------------------------------------------------------------------------

CLASS_TAG = {"Key": "data-classification", "Value": "internal"}
PER_REGION = (
    "s3 buckets",
    "ec2 instances",
    "ebs volumes",
    "ebs snapshots",
    "security groups",
    "rds instances",
    "dynamodb tables",
    "efs file systems",
    "kms keys",
)


def client(url: str, service: str, region: str) -> Any:
    config = Config(
        retries={"total_max_attempts": 3},
        s3={"addressing_style": "path"},
        inject_host_prefix=False,
        max_pool_connections=16,
    )
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        config=config,
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - moto's dummy key
    )


def _spec(kind: str, tags: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": tags}]


def plant(url: str, n: int, workers: int = 8) -> dict[str, int]:
    """N of each type per region and N IAM users, created concurrently; returns the count
    per type. Instances are started by one RunInstances per region."""
    tags = [CLASS_TAG]
    schema = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    jobs: list[Callable[[], object]] = []

    def add(fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        jobs.append(lambda: fn(*args, **kwargs))

    snapshot_sources: list[tuple[Any, list[str]]] = []
    for region in REGIONS:
        s3, ec2, rds = (
            client(url, "s3", region),
            client(url, "ec2", region),
            client(url, "rds", region),
        )
        ddb, efs, kms = (client(url, s, region) for s in ("dynamodb", "efs", "kms"))
        image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        for start in range(0, n, 500):
            count = min(500, n - start)
            add(ec2.run_instances, ImageId=image, MinCount=count, MaxCount=count,
                TagSpecifications=_spec("instance", tags))  # fmt: skip
        volumes: list[str] = []
        snapshot_sources.append((ec2, volumes))
        for i in range(n):
            name = f"bench-{region}-{i}"
            add(s3.create_bucket, Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": region})  # fmt: skip
            add(ec2.create_security_group, GroupName=name, Description=name, VpcId=vpc)
            add(ddb.create_table, TableName=name, Tags=tags, **schema)
            add(efs.create_file_system, CreationToken=name, Tags=tags)
            add(kms.create_key, Description=name,
                Tags=[{"TagKey": CLASS_TAG["Key"], "TagValue": CLASS_TAG["Value"]}])  # fmt: skip
            add(rds.create_db_instance, DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro",
                Engine="postgres", AllocatedStorage=20, MasterUsername="bench",
                MasterUserPassword="bench-password", Tags=tags)  # fmt: skip
            add(_volume, ec2, region, volumes)
    iam = client(url, "iam", "us-east-1")
    for i in range(n):
        add(iam.create_user, UserName=f"bench-user-{i}", Tags=tags)
    _run(jobs, workers)
    # Bucket tags and snapshots need what the first round made.
    later: list[Callable[[], object]] = []
    for region in REGIONS:
        s3 = client(url, "s3", region)
        names = [f"bench-{region}-{i}" for i in range(n)]
        later += [partial(s3.put_bucket_tagging, Bucket=b, Tagging={"TagSet": tags}) for b in names]
    for ec2, volumes in snapshot_sources:
        snapshot = partial(ec2.create_snapshot, TagSpecifications=_spec("snapshot", tags))
        later += [partial(snapshot, VolumeId=v) for v in volumes]
    _run(later, workers)
    counts = {kind: n * len(REGIONS) for kind in PER_REGION}
    counts["iam users"] = n
    return counts


def _volume(ec2: Any, region: str, into: list[str]) -> None:
    made = ec2.create_volume(AvailabilityZone=f"{region}a", Size=1,
                             TagSpecifications=_spec("volume", [CLASS_TAG]))  # fmt: skip
    into.append(str(made["VolumeId"]))


def _run(jobs: Sequence[Callable[[], object]], workers: int) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


# -- the minimum set of reads ---------------------------------------------------------------

# (what, scope, largest page the API allows, types listed): one paged list per type per
# region (global ones once). No type: the listing of something none was planted of.
TAGGED = ("s3 buckets", "dynamodb tables", "kms keys")
LISTS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("s3 ListBuckets", "global", 10000, ("s3 buckets",)),
    ("iam ListUsers", "global", 1000, ("iam users",)),
    ("iam GetAccountSummary", "global", 1, ()),
    ("rds DescribeGlobalClusters", "global", 100, ()),
    ("tagging GetResources", "region", 100, TAGGED),
    ("ec2 DescribeInstances", "region", 1000, ("ec2 instances",)),
    ("ec2 DescribeVolumes", "region", 1000, ("ebs volumes",)),
    ("ec2 DescribeSnapshots", "region", 1000, ("ebs snapshots",)),
    ("ec2 DescribeSecurityGroups", "region", 1000, ("security groups",)),
    ("ec2 DescribeNetworkAcls", "region", 1000, ()),
    ("ec2 DescribeVpcs", "region", 1000, ()),
    ("ec2 DescribeFlowLogs", "region", 1000, ()),
    ("ec2 GetEbsEncryptionByDefault", "region", 1, ()),
    ("network-firewall ListFirewalls", "region", 100, ()),
    ("rds DescribeDBInstances", "region", 100, ("rds instances",)),
    ("rds DescribeDBClusters", "region", 100, ()),
    ("rds DescribeDBSnapshots", "region", 100, ()),
    ("rds DescribeDBClusterSnapshots", "region", 100, ()),
    ("dynamodb ListTables", "region", 100, ("dynamodb tables",)),
    ("efs DescribeFileSystems", "region", 100, ("efs file systems",)),
    ("efs DescribeReplicationConfigurations", "region", 100, ()),
    ("kms ListKeys", "region", 1000, ("kms keys",)),
    ("kms ListAliases", "region", 100, ()),
    ("cloudtrail DescribeTrails", "region", 1, ()),
    ("guardduty ListDetectors", "region", 50, ()),
    ("inspector2 BatchGetAccountStatus", "region", 1, ()),
    ("ssm DescribeInstanceInformation", "region", 50, ()),
    ("backup ListBackupVaults", "region", 1000, ()),
    ("backup ListBackupPlans", "region", 1000, ()),
)
# Reads per item that no list carries: S3 encryption and versioning (replication only where
# versioning is on: none planted); DynamoDB DescribeTable and DescribeContinuousBackups; a
# customer managed KMS key's DescribeKey and rotation; an IAM user's login profile, access
# keys and MFA devices. Tags of the first three come with tag:GetResources above; read one
# resource at a time (the "about 3 per S3 bucket and per DynamoDB table") they would
# add one read per bucket, table and key.
PER_ITEM = {"s3 buckets": 2, "dynamodb tables": 2, "kms keys": 2, "iam users": 3}


def minimum_reads(counts: dict[str, int], regions: int) -> int:
    total = 0
    for _what, scope, page, kinds in LISTS:
        items = sum(counts.get(kind, 0) for kind in kinds)
        if scope == "global":
            total += max(1, math.ceil(items / page))
        else:
            total += regions * max(1, math.ceil(items / regions / page))
    return total + sum(counts.get(kind, 0) * reads for kind, reads in PER_ITEM.items())


# -- the floor: the minimum reads, made by a bare boto3 client --------------------------------

FLOOR_WORKERS = 16


def _pages(call: Callable[..., Any], key: str, token: str, out: str, **kwargs: Any) -> list[Any]:
    """Every item of a paged list call (ignoring an error: the floor only makes requests)."""
    items: list[Any] = []
    while True:
        try:
            page = call(**kwargs)
        except Exception:  # noqa: BLE001 - a call moto lacks still counts as made
            return items
        items += page.get(key, [])
        nxt = page.get(out)
        if not nxt:
            return items
        kwargs[token] = nxt


def floor(url: str, regions: Sequence[str]) -> None:
    """The minimum set of reads (``LISTS`` and ``PER_ITEM``) with a thread pool and no
    judging: what the reads alone cost on this server. Run as a subprocess (``--floor``)."""
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def c(service: str, region: str = "us-east-1") -> Any:
        with lock:
            if (service, region) not in clients:
                clients[(service, region)] = client(url, service, region)
            return clients[(service, region)]

    def tolerant(call: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except Exception:  # noqa: BLE001
            return {}

    def global_lists() -> list[Callable[[], object]]:
        buckets = [b["Name"] for b in tolerant(c("s3").list_buckets).get("Buckets", [])]
        users = [u["UserName"] for u in _pages(c("iam").list_users, "Users", "Marker", "Marker",
                                               MaxItems=1000)]  # fmt: skip
        tolerant(c("iam").get_account_summary)
        tolerant(c("rds").describe_global_clusters)
        s3, iam = c("s3"), c("iam")
        jobs: list[Callable[[], object]] = []
        for b in buckets:
            jobs += [partial(tolerant, s3.get_bucket_encryption, Bucket=b),
                     partial(tolerant, s3.get_bucket_versioning, Bucket=b)]  # fmt: skip
        for u in users:
            jobs += [partial(tolerant, iam.get_login_profile, UserName=u),
                     partial(tolerant, iam.list_access_keys, UserName=u),
                     partial(tolerant, iam.list_mfa_devices, UserName=u)]  # fmt: skip
        return jobs

    def region_lists(r: str) -> list[Callable[[], object]]:
        ec2, rds, ddb, kms = c("ec2", r), c("rds", r), c("dynamodb", r), c("kms", r)
        _pages(c("resourcegroupstaggingapi", r).get_resources, "ResourceTagMappingList",
               "PaginationToken", "PaginationToken", ResourcesPerPage=100)  # fmt: skip
        for name, key in (("describe_instances", "Reservations"), ("describe_volumes", "Volumes"),
                          ("describe_security_groups", "SecurityGroups"),
                          ("describe_network_acls", "NetworkAcls"), ("describe_vpcs", "Vpcs"),
                          ("describe_flow_logs", "FlowLogs")):  # fmt: skip
            _pages(getattr(ec2, name), key, "NextToken", "NextToken", MaxResults=1000)
        _pages(ec2.describe_snapshots, "Snapshots", "NextToken", "NextToken", MaxResults=1000,
               OwnerIds=["self"])  # fmt: skip
        tolerant(ec2.get_ebs_encryption_by_default)
        tolerant(c("network-firewall", r).list_firewalls)
        for name, key in (("describe_db_instances", "DBInstances"),
                          ("describe_db_clusters", "DBClusters"),
                          ("describe_db_snapshots", "DBSnapshots"),
                          ("describe_db_cluster_snapshots", "DBClusterSnapshots")):  # fmt: skip
            _pages(getattr(rds, name), key, "Marker", "Marker", MaxRecords=100)
        tables = _pages(ddb.list_tables, "TableNames", "ExclusiveStartTableName",
                        "LastEvaluatedTableName", Limit=100)  # fmt: skip
        efs = c("efs", r)
        _pages(efs.describe_file_systems, "FileSystems", "Marker", "NextMarker", MaxItems=100)
        tolerant(efs.describe_replication_configurations)
        keys = _pages(kms.list_keys, "Keys", "Marker", "NextMarker", Limit=1000)
        _pages(kms.list_aliases, "Aliases", "Marker", "NextMarker", Limit=100)
        tolerant(c("cloudtrail", r).describe_trails)
        tolerant(c("guardduty", r).list_detectors)
        tolerant(c("inspector2", r).batch_get_account_status)
        tolerant(c("ssm", r).describe_instance_information)
        tolerant(c("backup", r).list_backup_vaults)
        tolerant(c("backup", r).list_backup_plans)
        jobs: list[Callable[[], object]] = []
        for t in tables:
            jobs += [partial(tolerant, ddb.describe_table, TableName=t),
                     partial(tolerant, ddb.describe_continuous_backups, TableName=t)]  # fmt: skip
        for k in keys:
            jobs += [partial(tolerant, kms.describe_key, KeyId=k["KeyId"]),
                     partial(tolerant, kms.get_key_rotation_status, KeyId=k["KeyId"])]  # fmt: skip
        return jobs

    def made(job: Callable[[], object]) -> None:
        job()  # the answer is dropped: a scanner keeps what it judges, not every reply

    with ThreadPoolExecutor(max_workers=FLOOR_WORKERS) as pool:
        listed = [pool.submit(global_lists)] + [pool.submit(region_lists, r) for r in regions]
        items = [job for future in listed for job in future.result()]
        for _ in pool.map(made, items):
            pass


# -- running a scanner ----------------------------------------------------------------------


@dataclass
class Run:
    tool: str
    seconds: float
    code: int
    rss_mib: float
    tally: Tally
    resources: int  # planted resources in the regions this tool scanned
    findings: Counter[str] = field(default_factory=Counter)
    calls: int | None = None  # API calls the scanner logged itself (souqscan's --audit-log)
    top_calls: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    server_cpu: float = math.nan  # CPU seconds the server spent answering this run

    @property
    def per_resource(self) -> float:
        return self.tally.requests / self.resources if self.resources else math.nan


def scanner_env(guard_dir: Path, refused: Path, endpoint: str | None = None) -> dict[str, str]:
    """moto's dummy keys only (never the caller's profile, token or instance role), and the
    loopback guard loaded as sitecustomize."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",  # noqa: S106 - moto's dummy key
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPATH=str(guard_dir),
        SOUQSCAN_TEST_REFUSED=str(refused),
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
        # Prowler's shipped config.yaml lists me-south-1 and me-central-1 as disallowed
        # regions and drops them silently even when named with --region; its environment
        # variable takes precedence: a region the bench does not scan keeps them in.
        env["PROWLER_AWS_DISALLOWED_REGIONS"] = "ap-east-1"
    return env


# Linux carries a parent's RSS into its child's ru_maxrss (fork copies its counters, exec
# keeps the old high-water mark), so a scanner spawned by this process, which holds the
# planting clients, would report at least this process's size. A small launcher spawns it
# instead and reports the scanner's own peak.
LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def measure(argv: Sequence[str], env: dict[str, str], log: Path) -> tuple[float, int, float]:
    """Run a scanner; its wall time, exit code and peak RSS (MiB: the scanner process
    alone, not the server, this process or an earlier scanner)."""
    peak = log.with_suffix(".maxrss")
    peak.unlink(missing_ok=True)
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER, str(peak), *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,  # a timeout ends the launcher and the scanner together
        )
        timer = threading.Timer(SCAN_TIMEOUT, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            code = proc.wait()
        finally:
            timer.cancel()
        seconds = time.monotonic() - started
    rss = int(peak.read_text()) / 1024 if peak.exists() else math.nan
    return seconds, code, rss


def run_souqscan(srv: Server, work: Path, resources: int) -> Run:
    report, audit, log = (
        work / "souqscan.json",
        work / "souqscan-audit.jsonl",
        work / "souqscan.log",
    )
    audit.unlink(missing_ok=True)
    guard, refused = _guard(work)
    before, cpu = srv.tally(), srv.cpu_seconds()
    seconds, code, rss = measure(
        [sys.executable, "-c", "from scanner.cli import main; main()", "aws",
         "--endpoint-url", srv.front, "--regions", ",".join(REGIONS),
         "--format", "json", "--output", str(report), "--audit-log", str(audit),
         # botocore's default read timeout, as the floor and Prowler have: one moto process
         # answering a page of 1,000 instances behind 16 other requests can pass souqscan's
         # 20 s default, and a timed-out read is made again.
         "--timeout", "60"],
        {**scanner_env(guard, refused), "PYTHONPATH": f"{guard}{os.pathsep}{ROOT}"},
        log,
    )  # fmt: skip
    tally = srv.tally().minus(before)
    run = Run("souqscan", seconds, code, rss, tally, resources)
    run.server_cpu = srv.cpu_seconds() - cpu
    if report.exists():
        findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
        run.findings = Counter(f["status"] for f in findings)
        errors = sorted({f["message"] for f in findings if f["status"] == "ERROR"})
        run.notes += [f"ERROR: {m}" for m in errors[:4]]
    else:
        run.notes.append(f"no report (exit {code}): {_tail(log)}")
    if audit.exists():
        actions = Counter(json.loads(line)["action"] for line in audit.open(encoding="utf-8"))
        run.calls = sum(actions.values())
        run.top_calls = actions.most_common(8)
    run.notes += _refused(refused)
    return run


def run_floor(srv: Server, work: Path, resources: int) -> Run:
    """The minimum reads by a bare boto3 client (``--floor``): the time to beat."""
    guard, refused = _guard(work)
    before, cpu = srv.tally(), srv.cpu_seconds()
    seconds, code, rss = measure(
        [sys.executable, __file__, "--floor", srv.front, "--regions", ",".join(REGIONS)],
        {**scanner_env(guard, refused), "PYTHONPATH": f"{guard}{os.pathsep}{ROOT}"},
        work / "floor.log",
    )
    run = Run("floor", seconds, code, rss, srv.tally().minus(before), resources)
    run.server_cpu = srv.cpu_seconds() - cpu
    run.notes += _refused(refused)
    return run


def median_run(runs: list[Run]) -> Run:
    """The run of median time; every time and peak RSS of the repeats noted beside it."""
    chosen = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    if len(runs) > 1:
        each = ", ".join(f"{r.seconds:.1f}s/{r.rss_mib:.0f}MiB" for r in runs)
        chosen.notes.insert(0, f"median of {len(runs)} runs: {each}")
    return chosen


def ensure_prowler() -> Path | None:
    prowler = PROWLER_VENV / "bin" / "prowler"
    if prowler.exists():
        return prowler
    print(f"installing Prowler into {PROWLER_VENV} (pip, from PyPI) …", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PROWLER_VENV)], check=True)
        subprocess.run(
            [str(PROWLER_VENV / "bin" / "pip"), "install", "-q", PROWLER_SPEC],
            check=True,
            timeout=1800,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"Prowler could not be installed: {exc}", flush=True)
        return None
    return prowler if prowler.exists() else None


def prowler_version(prowler: Path) -> str:
    pip = PROWLER_VENV / "bin" / "pip"
    shown = subprocess.run(
        [str(pip), "show", "prowler"], capture_output=True, text=True, check=False
    )
    return next(
        (ln.split()[-1] for ln in shown.stdout.splitlines() if ln.startswith("Version")), "?"
    )


def prowler_regions(prowler: Path) -> tuple[str, ...]:
    """The benchmark's regions Prowler accepts (its --region choices come from the region
    table it ships; a region missing there cannot be scanned by it at all)."""
    python = prowler.parent / "python"
    code = (
        "from prowler.providers.aws.aws_provider import AwsProvider as P;"
        "print(' '.join(sorted(P.get_regions(partition=None))))"
    )
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    known = set(found.stdout.split())
    return tuple(r for r in REGIONS if r in known)


def run_prowler(
    srv: Server, prowler: Path, work: Path, counts: dict[str, int], regions: Sequence[str]
) -> Run:
    out, log = work / "prowler", work / "prowler.log"
    guard, refused = _guard(work)
    before, cpu = srv.tally(), srv.cpu_seconds()
    seconds, code, rss = measure(
        [str(prowler), "aws", "--region", *regions, "--checks", *PROWLER_CHECKS,
         "--output-formats", "json-ocsf", "--output-directory", str(out),
         "--output-filename", "prowler", "--no-banner"],
        scanner_env(guard, refused, srv.front),
        log,
    )  # fmt: skip
    tally = srv.tally().minus(before)
    per_region = sum(v for k, v in counts.items() if k in PER_REGION) // len(REGIONS)
    resources = per_region * len(regions) + counts["iam users"]
    run = Run("prowler", seconds, code, rss, tally, resources)
    run.server_cpu = srv.cpu_seconds() - cpu
    report = out / "prowler.ocsf.json"
    if report.exists():
        try:
            rows = json.loads(report.read_text(encoding="utf-8") or "[]")
            run.findings = Counter(str(r.get("status_code", "?")) for r in rows)
            seen = sorted({str((r.get("cloud") or {}).get("region")) for r in rows})
            run.notes.append(f"findings in regions: {', '.join(seen)}")
        except json.JSONDecodeError as exc:
            run.notes.append(f"unreadable report: {exc}")
    else:
        run.notes.append(f"no report (exit {code}): {_tail(log)}")
    errors = [ln for ln in log.read_text(errors="replace").splitlines() if "ERROR" in ln]
    if errors:
        run.notes.append(f"{len(errors)} ERROR lines in its log, e.g. {errors[0][-200:]}")
    run.notes += _refused(refused)
    return run


def _guard(work: Path) -> tuple[Path, Path]:
    guard = work / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    refused = work / "refused.txt"
    refused.unlink(missing_ok=True)
    return guard, refused


def _refused(path: Path) -> list[str]:
    names = sorted(set(path.read_text().split())) if path.exists() else []
    return [f"refused to resolve (never reached): {', '.join(names)}"] if names else []


def _tail(log: Path) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return " | ".join(text.strip().splitlines()[-3:])[-400:]


# -- the report -----------------------------------------------------------------------------


def report(n: int, counts: dict[str, int], planting: float, runs: list[Run]) -> None:
    total = sum(counts.values())
    minimum = minimum_reads(counts, len(REGIONS))
    print(f"\nN={n}: {total} resources planted in {planting:.0f}s "
          f"({', '.join(f'{v} {k}' for k, v in counts.items())})", flush=True)  # fmt: skip
    print(f"  {'tool':9} {'resources':>9} {'seconds':>8} {'requests':>9} {'req/res':>8} "
          f"{'req/s':>6} {'RSS MiB':>8} {'srv CPU':>7}  exit  findings")  # fmt: skip
    for r in runs:
        findings = dict(sorted(r.findings.items()))
        print(f"  {r.tool:9} {r.resources:9d} {r.seconds:8.2f} {r.tally.requests:9d} "
              f"{r.per_resource:8.2f} {r.tally.requests / r.seconds:6.0f} {r.rss_mib:8.1f} "
              f"{r.server_cpu:7.1f}  {r.code:4d}  {findings}")  # fmt: skip
    ours = runs[0]
    ratio = ours.tally.requests / minimum
    print(f"  minimum reads for souqscan's categories over {len(REGIONS)} regions: {minimum} "
          f"({minimum / total:.2f} per resource); souqscan made {ratio:.2f}x that")  # fmt: skip
    bare = next((r for r in runs if r.tool == "floor"), None)
    if bare is not None:
        print(f"  souqscan / floor (the minimum reads by a bare boto3 client, {FLOOR_WORKERS} "
              f"threads, no judging): time {ours.seconds / bare.seconds:.2f}x, "
              f"peak RSS {ours.rss_mib / bare.rss_mib:.2f}x", flush=True)  # fmt: skip
    if ours.calls is not None:
        print(f"  souqscan's own audit log: {ours.calls} API calls "
              f"(server saw {ours.tally.requests} HTTP requests); most: "
              + ", ".join(f"{a} {c}" for a, c in ours.top_calls))  # fmt: skip
    for r in runs:
        failed = r.tally.failed()
        if failed:
            print(f"  {r.tool} answers >= 400 (not 404): "
                  + ", ".join(f"{k} x{v}" for k, v in failed.most_common(6)))  # fmt: skip
        for note in r.notes:
            print(f"  {r.tool}: {note}")
    theirs = next((r for r in runs if r.tool == "prowler"), None)
    if theirs is not None:
        print(f"  Prowler / souqscan: time {theirs.seconds / ours.seconds:.2f}x, "
              f"requests {theirs.tally.requests / max(1, ours.tally.requests):.2f}x, "
              f"requests per resource {theirs.per_resource / ours.per_resource:.2f}x, "
              f"peak RSS {theirs.rss_mib / ours.rss_mib:.2f}x", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", default="10,100,1000", help="resources per type per region")
    parser.add_argument("--no-prowler", action="store_true", help="souqscan only")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare-client floor")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of souqscan and the floor; the median shown"
    )
    parser.add_argument("--floor", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--regions", default=",".join(REGIONS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.floor:
        floor(args.floor, args.regions.split(","))
        return
    sizes = [int(x) for x in args.n.split(",") if x.strip()]
    compile_souqscan()
    prowler = None if args.no_prowler else ensure_prowler()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} cores", flush=True)  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="souqscan-bench-") as tmp,
        server(Path(tmp) / "server.log") as srv,
    ):
        regions: tuple[str, ...] = ()
        if prowler is not None:
            regions = prowler_regions(prowler)
            left_out = [r for r in REGIONS if r not in regions]
            refused = (
                f"; it refuses {', '.join(left_out)} (not in its region table: it cannot scan it)"
                if left_out
                else ""
            )
            print(f"Prowler {prowler_version(prowler)}: {len(PROWLER_CHECKS)} checks in "
                  f"{', '.join(regions)}{refused}", flush=True)  # fmt: skip
        for n in sizes:
            srv.reset()
            started = time.monotonic()
            counts = plant(srv.moto, n)
            planting = time.monotonic() - started
            work = Path(tmp) / f"n{n}"
            work.mkdir()
            resources = sum(counts.values())
            ours, floors = [], []
            for _ in range(args.repeat):  # interleaved: a slow spell of the machine hits both
                ours.append(run_souqscan(srv, work, resources))
                if not args.no_floor:
                    floors.append(run_floor(srv, work, resources))
            runs = [median_run(ours)] + ([median_run(floors)] if floors else [])
            if prowler is not None:
                runs.append(run_prowler(srv, prowler, work, counts, regions))
            report(n, counts, planting, runs)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"bench process peak RSS {usage.ru_maxrss / 1024:.0f} MiB", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
