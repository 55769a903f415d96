"""The manifest, hacs.json, brand images and quality scale say what is true of the code."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import tomllib
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
import yaml

import custom_components.plex_link

ROOT = Path(__file__).parent.parent
INTEGRATION = Path(custom_components.plex_link.__file__).parent


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def test_manifest_as_home_assistant_loads_it(hass: HomeAssistant) -> None:
    """Home Assistant's loader reads the manifest; it matches the package and the code."""
    integration = await async_get_integration(hass, "plex_link")
    manifest = _load(INTEGRATION / "manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), (
        "hassfest wants domain, name, then alphabetical"
    )
    assert integration.domain == INTEGRATION.name
    assert (
        str(integration.version)
        == tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"][
            "version"
        ]
    )
    assert integration.requirements == []
    assert integration.config_flow is True
    imported = {
        node.module.split(".")[2]
        for path in INTEGRATION.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("homeassistant.components.")
    }
    assert imported <= {"binary_sensor", "sensor", "diagnostics"} | set(
        integration.dependencies
    )
    serves_http = any(
        "hass.http." in path.read_text("utf-8") for path in INTEGRATION.rglob("*.py")
    )
    assert serves_http == ("http" in integration.dependencies)


def test_hacs_json_admits_every_tested_release() -> None:
    """hacs.json's minimum is a release the suite runs on or older, and the README says it."""
    hacs = _load(ROOT / "hacs.json")
    assert set(hacs) <= {"name", "homeassistant", "render_readme", "zip_release"}
    minimum = AwesomeVersion(hacs["homeassistant"])
    assert minimum <= AwesomeVersion(ha_version)
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"Home Assistant {minimum.major}.{minimum.minor} or newer" in readme


def test_brand_images() -> None:
    """icon.png is 256x256 and icon@2x.png 512x512, as Home Assistant reads them from brand/."""
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        data = (INTEGRATION / "brand" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(data[16:20]) == size
        assert int.from_bytes(data[20:24]) == size


def test_licence_is_osi_approved() -> None:
    """HACS's repository check wants an OSI-approved licence: MIT."""
    assert (ROOT / "LICENSE").read_text("utf-8").startswith("MIT License")


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
