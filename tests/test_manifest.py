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
import pytest
import yaml

import custom_components.plex_link
from custom_components.plex_link.config_flow import PlexLinkConfigFlow
from custom_components.plex_link.entity import PlexLinkEntity

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
    platforms = {platform.value for platform in custom_components.plex_link.PLATFORMS}
    assert imported <= platforms | {"diagnostics"} | set(integration.dependencies)
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


def _module_names(module: str) -> set[str]:
    """Return the names a module of the integration defines at its top level."""
    tree = ast.parse((INTEGRATION / module).read_text("utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _platform_modules() -> list[str]:
    """Return the modules of the entity platforms the integration sets up."""
    return [
        f"{platform.value}.py" for platform in custom_components.plex_link.PLATFORMS
    ]


def _flow_steps() -> set[str]:
    """Return the steps of the config flow."""
    return {
        name.removeprefix("async_step_")
        for name in vars(PlexLinkConfigFlow)
        if name.startswith("async_step_")
    }


# What each rule marked done must show in the code; a false "done" fails here.
RULE_EVIDENCE = {
    "config-flow": lambda: _load(INTEGRATION / "manifest.json")["config_flow"],
    "config-entry-unloading": lambda: "async_unload_entry"
    in _module_names("__init__.py"),
    "diagnostics": lambda: "async_get_config_entry_diagnostics"
    in _module_names("diagnostics.py"),
    "reauthentication-flow": lambda: {"reauth", "reauth_confirm"} <= _flow_steps(),
    "reconfiguration-flow": lambda: "reconfigure" in _flow_steps(),
    "parallel-updates": lambda: all(
        "PARALLEL_UPDATES" in _module_names(module) for module in _platform_modules()
    ),
    "has-entity-name": lambda: PlexLinkEntity._attr_has_entity_name,
    "action-setup": lambda: "async_setup_services" in _module_names("services.py")
    and "async_setup" in _module_names("__init__.py"),
    "runtime-data": lambda: "PlexLinkRuntimeData" in _module_names("coordinator.py"),
    "strict-typing": lambda: (INTEGRATION / "py.typed").exists()
    or "mypy --strict" in (ROOT / "scripts" / "test").read_text("utf-8"),
    "entity-translations": lambda: all(
        "translation_key=" in (INTEGRATION / module).read_text("utf-8")
        for module in _platform_modules()
    ),
    "icon-translations": lambda: (INTEGRATION / "icons.json").exists(),
    "exception-translations": lambda: "translation_key"
    in (INTEGRATION / "coordinator.py").read_text("utf-8"),
    "docs-removal-instructions": lambda: "Remov"
    in (ROOT / "README.md").read_text("utf-8"),
    "docs-actions": lambda: all(
        f"plex_link.{action}" in (ROOT / "README.md").read_text("utf-8")
        for action in yaml.safe_load((INTEGRATION / "services.yaml").read_text("utf-8"))
    ),
}


def _rules() -> dict[str, Any]:
    """Return the rules of quality_scale.yaml."""
    rules: dict[str, Any] = yaml.safe_load(
        (INTEGRATION / "quality_scale.yaml").read_text("utf-8")
    )["rules"]
    return rules


def _status(value: Any) -> str:
    """Return a rule's status, written short or long."""
    return str(value["status"] if isinstance(value, dict) else value)


@pytest.mark.parametrize("rule", sorted(set(RULE_EVIDENCE) & set(_rules())))
def test_quality_scale_done_is_true(rule: str) -> None:
    """A rule marked done shows in the code."""
    assert _status(_rules()[rule]) == "done"
    assert RULE_EVIDENCE[rule]()


def test_quality_scale_exemptions_say_why() -> None:
    """Every rule is done or exempt, and an exemption carries its reason."""
    for rule, value in _rules().items():
        assert _status(value) in ("done", "exempt"), rule
        if _status(value) == "exempt":
            assert value.get("comment"), rule
