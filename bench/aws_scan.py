"""AWS scan speed against moto's server (``python bench/aws_scan.py [N ...]``, default 10 100
1000).

For each N, resets moto and plants N resources per type per region in four regions
(me-west-1, me-central-1, me-south-1, eu-west-1): S3 buckets, EC2 instances, EBS volumes,
security groups, DynamoDB tables and KMS keys. Then scans the account in-process through the
same session, engine and default baseline as ``souqscan aws`` (default concurrency), through
the tests' front server, and prints wall time, HTTP requests made, requests per planted
resource, findings by status (with the first ERROR reasons) and peak traced memory (moto's
own included: it runs in this process). Prints figures only: no assertion on time. moto runs
on 127.0.0.1 and is stopped before exiting.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the repo

import boto3
from botocore.config import Config

from scanner.baseline import loader
from scanner.clouds import aws as cloud
from scanner.engine import Target, scan
from scanner.model import TargetKind
from scanner.registry import Registry
from tests.integration.aws import front, motoserver

REGIONS = ("me-west-1", "me-central-1", "me-south-1", "eu-west-1")
TYPES = ("s3 buckets", "instances", "volumes", "security groups", "tables", "kms keys")


def client(url: str, service: str, region: str) -> Any:
    config = Config(
        retries={"total_max_attempts": 3},
        s3={"addressing_style": "path"},
        inject_host_prefix=False,
        max_pool_connections=32,
    )
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        config=config,
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - moto's dummy key
    )


def plant(url: str, n: int) -> int:
    """N of each type per region; returns how many resources were planted."""
    schema = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    tags = [{"Key": "data-classification", "Value": "internal"}]
    for region in REGIONS:
        s3, ec2 = client(url, "s3", region), client(url, "ec2", region)
        ddb, kms = client(url, "dynamodb", region), client(url, "kms", region)
        image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
        ec2.run_instances(ImageId=image, MinCount=n, MaxCount=n)
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        for i in range(n):
            name = f"bench-{region}-{i}"
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
            ec2.create_volume(AvailabilityZone=f"{region}a", Size=1)
            ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)
            ddb.create_table(TableName=name, Tags=tags, **schema)
            kms.create_key(Description=name)
    return n * len(TYPES) * len(REGIONS)


def one(url: str, n: int) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback http, forwarded to moto
        url + "/moto-api/reset", b"", {"Content-Type": "text/plain"}, method="POST"
    )
    urllib.request.urlopen(request, timeout=60).close()  # noqa: S310
    started = time.monotonic()
    planted = plant(url, n)
    planting = time.monotonic() - started

    registry = Registry.installed()
    checks = registry.select(kind=TargetKind.AWS_ACCOUNT)
    baseline = loader.load(loader.DEFAULT_BASELINE, registry)
    log = cloud.ApiLog()
    session = cloud.AwsSession(cloud.SessionOptions(endpoint_url=url, workers=16), log)
    tracemalloc.start()
    clock = time.monotonic()
    identity = cloud.identify(session)
    target = Target(
        f"aws:{identity.account_id}",
        TargetKind.AWS_ACCOUNT,
        lambda: cloud.connect(session, identity, REGIONS),
    )
    result = scan([target], checks, baseline, concurrency=1)
    wall = time.monotonic() - clock
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tally = Counter(f.status.name for f in result.findings)
    print(
        f"N={n:5d}  planted {planted:6d} in {planting:6.1f}s | scan {wall:7.2f}s  "
        f"requests {log.requests:6d}  per resource {log.requests / planted:5.2f}  "
        f"findings {len(result.findings):6d} {dict(sorted(tally.items()))}  "
        f"peak memory {peak / 2**20:7.1f} MiB (moto's included: same process)",
        flush=True,
    )
    for reason in sorted({f.message for f in result.findings if f.status.name == "ERROR"})[:5]:
        print(f"    ERROR: {reason}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 1000])
    args = parser.parse_args()
    with motoserver.running() as moto, front.running(moto) as answers:
        # The front answers the few read calls moto lacks (SSM, EFS replication, Backup
        # recovery points) with empty lists instead of moto's HTTP 500, which would be retried.
        for n in args.sizes:
            one(answers.url, n)


if __name__ == "__main__":
    main()
