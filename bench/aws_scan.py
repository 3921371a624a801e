"""AWS scan speed against moto's server (``python bench/aws_scan.py [N ...]``, default 10 100
1000).

For each N, resets moto and plants N resources per type per region in four regions
(me-west-1, me-central-1, me-south-1, eu-west-1): S3 buckets, EC2 instances, EBS volumes,
security groups, DynamoDB tables and KMS keys. Then runs ``souqscan aws`` as a user would (a
subprocess: default baseline, default concurrency) through the tests' front server, which
counts every HTTP request and answers the few read calls moto lacks. Prints wall time,
requests, requests per planted resource, findings by status (with the first ERROR reasons)
and the scanner process's peak resident memory. Prints figures only: no assertion on time.
moto runs on 127.0.0.1 and is stopped before exiting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the repo

import boto3
from botocore.config import Config

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


def _dummy_credentials() -> dict[str, str]:
    """moto's dummy keys only: never the caller's profile, token or instance role."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",  # noqa: S106 - moto's dummy key
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def one(answers: front.Front, n: int, directory: Path) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback http, forwarded to moto
        answers.url + "/moto-api/reset", b"", {"Content-Type": "text/plain"}, method="POST"
    )
    urllib.request.urlopen(request, timeout=60).close()  # noqa: S310
    started = time.monotonic()
    planted = plant(answers.url, n)
    planting = time.monotonic() - started

    report = directory / f"aws-{n}.json"
    before = sum(answers.hits.values())
    rss_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    clock = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "from scanner.cli import main; main()", "aws",
         "--endpoint-url", answers.url, "--regions", ",".join(REGIONS),
         "--format", "json", "--output", str(report)],
        check=False, capture_output=True, timeout=3600, env=_dummy_credentials(),
    )  # fmt: skip
    wall = time.monotonic() - clock
    requests = sum(answers.hits.values()) - before
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    tally = Counter(f["status"] for f in findings)
    peak = f"{rss / 1024:7.1f} MiB" if rss > rss_before else "not above the previous run's"
    print(
        f"N={n:5d}  planted {planted:6d} in {planting:6.1f}s | scan {wall:7.2f}s  "
        f"requests {requests:6d}  per resource {requests / planted:5.2f}  "
        f"findings {len(findings):6d} {dict(sorted(tally.items()))}  peak RSS {peak}",
        flush=True,
    )
    for reason in sorted({f["message"] for f in findings if f["status"] == "ERROR"})[:5]:
        print(f"    ERROR: {reason}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 1000])
    args = parser.parse_args()
    with (
        motoserver.running() as moto,
        front.running(moto) as answers,
        tempfile.TemporaryDirectory(prefix="souqscan-bench-") as directory,
    ):
        # The front answers the few read calls moto lacks (SSM, EFS replication, Backup
        # recovery points) with empty lists instead of moto's HTTP 500, which would be retried.
        for n in args.sizes:
            one(answers, n, Path(directory))


if __name__ == "__main__":
    main()
