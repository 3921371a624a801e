"""The whole estate in one run: a real sshd host, a moto AWS account and the local HTTPS ARM
endpoint in one inventory; waivers (matching, expired, stale); two nights with a change in
between and the diff; SARIF and JUnit validated by schema and parsed back; HTML escaping."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import xmlschema

# The providers' fixtures (servers on 127.0.0.1, stopped by their fixtures, and the guards
# that refuse any name but loopback) are used here as they are in their own folders.
from tests.integration.aws.conftest import (  # noqa: F401
    ACCOUNT,
    Aws,
    Runner,
    aws,
    front_server,
    moto_server,
    souqscan,
)
from tests.integration.azure import fake_arm, scenario
from tests.integration.azure.conftest import arm, arm_server, loopback_only  # noqa: F401
from tests.integration.azure.fake_arm import FakeArm
from tests.integration.azure.test_azure_cli import quiet_world
from tests.support.sshd import SshServer

SCHEMAS = Path(__file__).parents[1] / "data" / "schemas"
HOSTILE = "<script>alert(1)</script>"


def test_one_inventory_three_kinds_of_target(
    tmp_path: Path,
    sshd: SshServer,
    aws: Aws,  # noqa: F811 - the fixture imported above
    arm: FakeArm,  # noqa: F811
    souqscan: Runner,  # noqa: F811
) -> None:
    quiet_world(arm)
    # A hostile name from a target (an ARM resource name here) must render as text.
    pricings = f"/subscriptions/{scenario.SUB}/providers/Microsoft.Security/pricings"
    arm.put_list(
        pricings,
        [
            *arm.lists[pricings.lower()],
            {
                "id": f"{pricings}/{HOSTILE}",
                "name": HOSTILE,
                "type": "Microsoft.Security/pricings",
                "properties": {"pricingTier": "Free"},
            },
        ],
    )
    s3 = aws.client("s3", "me-central-1")
    s3.create_bucket(
        Bucket="ops-logs", CreateBucketConfiguration={"LocationConstraint": "me-central-1"}
    )
    s3.create_bucket(
        Bucket="vat-records", CreateBucketConfiguration={"LocationConstraint": "me-central-1"}
    )
    tag = {"TagSet": [{"Key": "data-classification", "Value": "regulated"}]}
    s3.put_bucket_tagging(Bucket="vat-records", Tagging=tag)
    estate = tmp_path / "estate.yaml"
    estate.write_text(
        textwrap.dedent(
            f"""\
            targets:
              - name: riyadh-app
                hosts:
                  addresses: ["{sshd.spec}"]
                  identity: {sshd.client_key}
                  known_hosts: {sshd.known_hosts}
                labels: {{country: SA, site: RUH1, data-classification: regulated}}
              - name: prod-aws
                aws: {{endpoint_url: "{aws.url}", regions: [me-central-1]}}
                labels: {{data-classification: internal}}
              - name: azure-main
                azure:
                  subscriptions: ["{scenario.SUB}"]
                  arm_endpoint: "{arm.base_url}"
                  authority_host: "{arm.base_url}"
                  ca_bundle: {arm.ca_pem}
            """
        )
    )
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        textwrap.dedent(
            """\
            - rule: RES-AWS-01
              resource: "*vat-records"
              justification: ZATCA archive moves to me-west-1 in CHG-7 (Dec)
              owner: finance-it@example.sa
              expires: 2099-01-31
            - rule: RES-AWS-03
              justification: expired
              owner: a@example.sa
              expires: 2021-01-01
            - rule: AZ-DEF-01
              justification: stale, nothing fails there
              owner: a@example.sa
              expires: 2099-01-01
            """
        )
    )
    db, out = tmp_path / "history.db", tmp_path / "out"
    out.mkdir()
    env = {
        "AZURE_TENANT_ID": fake_arm.TENANT,
        "AZURE_CLIENT_ID": fake_arm.CLIENT_ID,
        "AZURE_CLIENT_SECRET": fake_arm.CLIENT_SECRET,
        "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
    }
    args = [
        "scan",
        "--inventory",
        str(estate),
        "--db",
        str(db),
        "--waivers",
        str(waivers),
        "--checks",
        "host.residency",
        "--checks",
        "aws.data.residency",
        "--checks",
        "azure.defender",
        "--format",
        "json",
    ]
    night1 = souqscan(
        *args,
        "-o",
        f"sarif={out}/1.sarif",
        "-o",
        f"junit={out}/1.xml",
        "-o",
        f"html={out}/1.html",
        env=env,
    )
    assert not night1.refused and "Traceback" not in night1.stderr, night1.explain()
    assert night1.code == 0, night1.explain()  # the one FAIL is waived
    findings: list[dict[str, Any]] = json.loads(night1.stdout)["findings"]
    targets = {f["target"] for f in findings}
    assert targets == {sshd.target, f"aws:{ACCOUNT}", f"azure:{scenario.SUB}"}
    status = {(f["rule_id"], f["resource_id"].rsplit(":", 1)[-1]): f["status"] for f in findings}
    assert status[("RES-HOST-01", "site")] == "PASS"
    assert status[("RES-AWS-01", "vat-records")] == "WAIVED"
    assert status[("RES-AWS-03", "ops-logs")] == "PASS"  # untagged: the account label (internal)
    plans = sorted(s for (rule, _), s in status.items() if rule == "AZ-DEF-01")
    assert plans == ["NOT_APPLICABLE"] + ["PASS"] * 4  # the hostile plan is not a required one

    # SARIF: valid, and the waived result carries its justification as a suppression.
    sarif = json.loads((out / "1.sarif").read_text())
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    waived = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert len(waived) == 1 and "CHG-7" in json.dumps(waived[0]["suppressions"])
    # JUnit: valid, and parsed back it counts what the scan found.
    junit = (out / "1.xml").read_text()
    xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd")).validate(junit)
    cases = ET.fromstring(junit).iter("testcase")  # noqa: S314 - our own report, just validated
    assert sum(1 for _ in cases) == len(findings)
    # HTML: the hostile name renders as text.
    html = (out / "1.html").read_text()
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    # Night two: someone tags the log bucket regulated. A new failure, the diff says so.
    s3.put_bucket_tagging(Bucket="ops-logs", Tagging=tag)
    night2 = souqscan(*args, "--fail-on-new", env=env)
    assert night2.code == 1, night2.explain()
    diff = souqscan("diff", "--db", str(db), "--format", "json")
    changes = json.loads(diff.stdout)
    assert [(r["rule_id"], r["resource_id"].rsplit(":", 1)[-1]) for r in changes["new"]] == [
        ("RES-AWS-01", "ops-logs")
    ]
    assert changes["resolved"] == [] and changes["still_failing"] == []
    notes = json.loads(night2.stdout)["scan"]["notes"]
    assert any("expired on 2021-01-01" in n for n in notes)
    assert any("stale waiver" in n and "AZ-DEF-01" in n for n in notes)
