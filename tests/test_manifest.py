"""The manifest and hacs.json follow hassfest's and HACS's published rules.

The schemas restate hassfest's CUSTOM_INTEGRATION_MANIFEST_SCHEMA
(home-assistant/core script/hassfest/manifest.py) and HACS's
HACS_MANIFEST_JSON_SCHEMA and INTEGRATION_MANIFEST_JSON_SCHEMA
(hacs/integration custom_components/hacs/utils/validate.py), neither of which
ships in an installable package.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
import pytest
import voluptuous as vol
import yaml

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "plex_link"

IOT_CLASSES = [
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
]
INTEGRATION_TYPES = [
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
]


def _version(value: str) -> str:
    """Accept only versions AwesomeVersion reads as CalVer, SemVer, SimpleVer or PEP 440."""
    if AwesomeVersion(value).strategy not in (
        AwesomeVersionStrategy.CALVER,
        AwesomeVersionStrategy.SEMVER,
        AwesomeVersionStrategy.SIMPLEVER,
        AwesomeVersionStrategy.BUILDVER,
        AwesomeVersionStrategy.PEP440,
    ):
        raise vol.Invalid(f"{value} is not a valid version")
    return value


HASSFEST_CUSTOM_MANIFEST = vol.Schema(
    {
        vol.Required("domain"): str,
        vol.Required("name"): str,
        vol.Optional("integration_type"): vol.In(INTEGRATION_TYPES),
        vol.Optional("config_flow"): bool,
        vol.Required("documentation"): vol.Url(),
        vol.Optional("issue_tracker"): vol.Url(),
        vol.Optional("requirements"): [str],
        vol.Optional("dependencies"): [str],
        vol.Optional("after_dependencies"): [str],
        vol.Required("codeowners"): [str],
        vol.Optional("loggers"): [str],
        vol.Optional("iot_class"): vol.In(IOT_CLASSES),
        vol.Optional("single_config_entry"): bool,
        vol.Optional("quality_scale"): str,
        vol.Required("version"): vol.All(str, _version),
        vol.Optional("import_executor"): bool,
    }
)
HACS_INTEGRATION_MANIFEST = vol.Schema(
    {
        vol.Required("codeowners"): list,
        vol.Required("documentation"): vol.Url(),
        vol.Required("domain"): str,
        vol.Required("issue_tracker"): vol.Url(),
        vol.Required("name"): str,
        vol.Required("version"): vol.Coerce(AwesomeVersion),
    },
    extra=vol.ALLOW_EXTRA,
)
HACS_JSON = vol.Schema(
    {
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): vol.Any(str, [str]),
        vol.Optional("filename"): str,
        vol.Optional("hacs"): str,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): str,
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
        vol.Required("name"): str,
    },
    extra=vol.PREVENT_EXTRA,
)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_manifest_passes_hassfest() -> None:
    """The manifest fits hassfest's custom integration schema and key order."""
    manifest = _load(INTEGRATION / "manifest.json")
    HASSFEST_CUSTOM_MANIFEST(manifest)
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), (
        "hassfest wants domain, name, then alphabetical"
    )
    assert manifest["domain"] == INTEGRATION.name
    assert manifest["requirements"] == []
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] == "cloud_polling"


def test_manifest_passes_hacs() -> None:
    """HACS needs a version and the links it shows."""
    HACS_INTEGRATION_MANIFEST(_load(INTEGRATION / "manifest.json"))


def test_hacs_json() -> None:
    """hacs.json holds only keys HACS accepts, with the oldest supported release."""
    hacs = HACS_JSON(_load(ROOT / "hacs.json"))
    assert hacs["homeassistant"] == "2025.4.0"


@pytest.mark.parametrize(
    "broken",
    [
        {"zip_release": "yes"},
        {"unknown_key": True},
    ],
)
def test_hacs_schema_rejects_wrong_keys(broken: dict[str, Any]) -> None:
    """The restated HACS schema is strict, as HACS's is."""
    with pytest.raises(vol.Invalid):
        HACS_JSON({"name": "Plex Link", **broken})


def test_brand_icon() -> None:
    """The brand icon is a 256x256 PNG."""
    data = (INTEGRATION / "brand" / "icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20]) == 256
    assert int.from_bytes(data[20:24]) == 256


QUALITY_SCALE_RULES = {
    "bronze": [
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow-test-coverage",
        "config-flow",
        "dependency-transparency",
        "docs-actions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ],
    "gold": [
        "devices",
        "diagnostics",
        "discovery-update-info",
        "discovery",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}


def test_quality_scale_covers_every_rule() -> None:
    """Every rule of the Integration Quality Scale is done, or exempt with a reason."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text("utf-8"))[
        "rules"
    ]
    expected = {rule for tier in QUALITY_SCALE_RULES.values() for rule in tier}
    assert expected <= set(rules)
    for rule, status in rules.items():
        if isinstance(status, dict):
            assert status["status"] in ("done", "exempt"), rule
            assert status.get("comment") or status["status"] == "done", rule
        else:
            assert status == "done", rule
