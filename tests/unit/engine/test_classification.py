"""Classification from tags: normalised, aliased, fail-safe to the baseline default."""

from __future__ import annotations

import pytest

from scanner.classification import ClassificationPolicy, normalise


@pytest.mark.parametrize(
    ("tags", "value", "tagged"),
    [
        ({"data-classification": "Regulated"}, "regulated", True),
        ({"Data-Classification": "internal use"}, "internal", True),  # key case, space, alias
        ({"data-classification": "Regulated/Restricted"}, "regulated", True),
        ({"data-classification": "RESTRICTED"}, "regulated", True),
        ({"data-classification": "public"}, "public", True),
        ({"data-classification": "top-secret"}, "regulated", False),  # unknown: fail-safe
        ({"owner": "ops"}, "regulated", False),  # untagged: fail-safe, never public
        ({}, "regulated", False),
    ],
)
def test_default_policy(tags: dict[str, str], value: str, tagged: bool) -> None:
    found = ClassificationPolicy().classify(tags)
    assert (found.value, found.tagged) == (value, tagged)


def test_custom_keys_aliases_and_default() -> None:
    policy = ClassificationPolicy(("sensitivity",), {"secret": "confidential"}, "internal")
    assert policy.classify({"Sensitivity": "Secret"}).value == "confidential"
    assert policy.classify({"data-classification": "public"}).value == "internal"


def test_copies_follow_the_stricter_class() -> None:
    own = ClassificationPolicy().classify({"data-classification": "internal"})
    assert own.stricter("regulated").value == "regulated"
    assert own.stricter("public").value == "internal"


def test_normalise() -> None:
    assert normalise("  Internal_Use ") == "internal-use"


def test_regions_are_keyed_on_provider_and_code() -> None:
    from scanner.regions import country_of, locate

    assert country_of("aws", "me-west-1") == "SA"
    assert country_of("aws", "me-central-1") == "AE"
    assert country_of("alibaba", "me-central-1") == "SA"  # same code, another country
    assert country_of("huawei", "me-east-1") == "SA"
    assert country_of("gcp", "me-west1") == "IL"  # Tel Aviv, not the Gulf
    assert locate("aws", "xx-nowhere-9").kind == "unknown"
    assert locate("azure", "global").country is None
    assert locate("azure", "uae").kind == "logical"
    assert country_of("aws", None) is None
