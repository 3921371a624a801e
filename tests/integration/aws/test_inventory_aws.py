"""An AWS account listed in an inventory: scanned by `souqscan scan`, classified by the
entry's label where a resource carries no tag of its own."""

from __future__ import annotations

import json
import textwrap

from tests.integration.aws.conftest import ACCOUNT, Aws, Runner


def test_inventory_label_classifies_untagged_resources(aws: Aws, souqscan: Runner) -> None:
    s3 = aws.client("s3", "me-central-1")
    for name, tags in (("ops-logs", None), ("ids-archive", "regulated")):
        s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "me-central-1"}
        )
        if tags:
            s3.put_bucket_tagging(
                Bucket=name, Tagging={"TagSet": [{"Key": "data-classification", "Value": tags}]}
            )
    estate = aws.tmp / "estate.yaml"
    estate.write_text(
        textwrap.dedent(
            f"""\
            targets:
              - name: prod-aws
                aws: {{endpoint_url: "{aws.url}", regions: [me-central-1]}}
                labels: {{data-classification: internal, owner: cloud@example.sa}}
            """
        )
    )
    run = souqscan(
        "scan",
        "--inventory",
        str(estate),
        "--no-history",
        "--checks",
        "aws.data",
        "--format",
        "json",
    )
    assert "Traceback" not in run.stderr and not run.refused, run.explain()
    found = json.loads(run.stdout)["findings"]
    assert {f["target"] for f in found} == {f"aws:{ACCOUNT}"}
    verdicts = {
        (f["rule_id"], f["resource_id"].rsplit(":", 1)[-1]): (f["status"], f["classification"])
        for f in found
        if f["status"] != "NOT_APPLICABLE"
    }
    # Untagged: the account's label (internal) applies; the UAE is in the GCC.
    assert verdicts[("RES-AWS-03", "ops-logs")] == ("PASS", "internal")
    assert verdicts[("RES-AWS-04", "ops-logs")] == ("PASS", "internal")
    # Its own tag outranks the label: regulated data in the UAE leaves the Kingdom.
    assert verdicts[("RES-AWS-01", "ids-archive")] == ("FAIL", "regulated")
    assert run.code == 1, run.explain()
