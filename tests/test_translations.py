"""Every translation key the code uses exists, with the placeholders it needs."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path
import re
import string

from homeassistant.const import Platform
from homeassistant.helpers.entity import EntityDescription
import pytest
import yaml

from custom_components.plex_link import PLATFORMS
from custom_components.plex_link.config_flow import METHODS
from custom_components.plex_link.event import (
    DESCRIPTIONS as EVENT_DESCRIPTIONS,
    event_attributes,
)
from custom_components.plex_link.media_player import STOP_REASON_KEY
from custom_components.plex_link.plexserver.webhook import WebhookEvent

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "plex_link"
STRINGS = json.loads((INTEGRATION / "translations" / "en.json").read_text("utf-8"))
ICONS = json.loads((INTEGRATION / "icons.json").read_text("utf-8"))


FLOWS = {"config": "PlexLinkConfigFlow", "options": "PlexLinkOptionsFlow"}


def _calls(module: str, within: str | None = None) -> list[ast.Call]:
    """Return every call in a module of the integration (or in one class of it)."""
    tree: ast.AST = ast.parse((INTEGRATION / module).read_text("utf-8"))
    if within is not None:
        tree = next(
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and node.name == within
        )
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _keyword_strings(module: str, keyword: str, within: str | None = None) -> set[str]:
    """Return the string literals passed as a keyword argument anywhere in module."""
    return {
        kw.value.value
        for call in _calls(module, within)
        for kw in call.keywords
        if kw.arg == keyword
        and isinstance(kw.value, ast.Constant)
        and isinstance(kw.value.value, str)
    }


def _error_keys() -> set[str]:
    """Return the error keys _error_key can return."""
    tree = ast.parse((INTEGRATION / "config_flow.py").read_text("utf-8"))
    function = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "_error_key"
    )
    return {
        node.value.value
        for node in ast.walk(function)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
    }


def _placeholders(text: str) -> set[str]:
    """Return the {placeholders} of a translation string."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _strings(tree: object) -> list[str]:
    """Return every string in a nested translation tree."""
    if isinstance(tree, dict):
        return [text for value in tree.values() for text in _strings(value)]
    return [tree] if isinstance(tree, str) else []


@pytest.mark.parametrize("flow", FLOWS)
def test_steps_shown_have_text(flow: str) -> None:
    """Every step id a flow shows, or moves to, has a title."""
    steps = _keyword_strings("config_flow.py", "step_id", FLOWS[flow]) | (
        _keyword_strings("config_flow.py", "next_step_id", FLOWS[flow])
    )
    assert steps
    for step in steps:
        assert STRINGS[flow]["step"][step]["title"], step


def test_progress_actions_have_text() -> None:
    """Every progress action has its text."""
    actions = _keyword_strings("config_flow.py", "progress_action")
    assert actions
    assert set(STRINGS["config"]["progress"]) == actions


@pytest.mark.parametrize("flow", FLOWS)
def test_errors_and_aborts_exist(flow: str) -> None:
    """Every error and abort key a flow can produce is translated, and no other."""
    if flow == "config":
        assert set(STRINGS[flow]["error"]) == _error_keys()
    aborts = _keyword_strings("config_flow.py", "reason", FLOWS[flow])
    assert set(STRINGS[flow]["abort"]) == aborts
    for reason, text in STRINGS[flow]["abort"].items():
        assert "account" in _placeholders(text), reason
        assert _placeholders(text) <= {"account", "name"}, reason


def test_exception_keys_exist() -> None:
    """Every translated exception the integration raises has a message, and no other."""
    keys = {
        kwargs["translation_key"].value
        for path in INTEGRATION.glob("*.py")
        for call in _calls(path.name)
        for kwargs in [{kw.arg: kw.value for kw in call.keywords}]
        if "translation_domain" in kwargs
        and isinstance(kwargs.get("translation_key"), ast.Constant)
    }
    keys.add(STOP_REASON_KEY)  # the reason a viewer reads when a session is ended
    assert keys == set(STRINGS["exceptions"])
    for key in keys:
        assert STRINGS["exceptions"][key]["message"]


def test_repair_issues_have_text() -> None:
    """Every repair issue the integration raises has a title and a description."""
    issues = {
        value.value
        for path in INTEGRATION.glob("*.py")
        for call in _calls(path.name)
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "async_create_issue"
        for kw in call.keywords
        if kw.arg == "translation_key"
        for value in (
            [kw.value.body, kw.value.orelse]
            if isinstance(kw.value, ast.IfExp)
            else [kw.value]
        )
        if isinstance(value, ast.Constant)
    }
    assert issues == set(STRINGS["issues"])
    for key in issues:
        assert STRINGS["issues"][key]["title"]
        assert STRINGS["issues"][key]["description"]


def _entity_keys(platform: str) -> set[str]:
    """Return the translation keys of a platform's entity descriptions."""
    module = importlib.import_module(f"custom_components.plex_link.{platform}")
    return {
        str(description.translation_key)
        for value in vars(module).values()
        if isinstance(value, tuple)
        for description in value
        if isinstance(description, EntityDescription)
    }


@pytest.mark.parametrize(
    "platform",
    # A media player takes its device's name: the player's.
    [p.value for p in PLATFORMS if p is not Platform.MEDIA_PLAYER],
)
def test_entities_have_names_and_icons(platform: str) -> None:
    """Every entity translation key has a name and an icon, and no other exists."""
    keys = _entity_keys(platform)
    assert keys
    assert keys == set(STRINGS["entity"][platform])
    assert keys == set(ICONS["entity"][platform])
    for key in keys:
        assert STRINGS["entity"][platform][key]["name"]


def test_actions_have_text_and_icons() -> None:
    """Every action in services.yaml has a name, a description, its fields and an icon."""
    actions = yaml.safe_load((INTEGRATION / "services.yaml").read_text("utf-8"))
    assert set(actions) == set(STRINGS["services"]) == set(ICONS["services"])
    for action, spec in actions.items():
        text = STRINGS["services"][action]
        assert text["name"]
        assert text["description"]
        assert set(spec["fields"]) == set(text["fields"])


def test_placeholders_are_supplied() -> None:
    """A placeholder in a text is one the code passes for that step."""
    tree = ast.parse((INTEGRATION / "config_flow.py").read_text("utf-8"))
    named = {
        target.id: node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    supplied: dict[str, set[str]] = {}
    for call in _calls("config_flow.py"):
        kwargs = {kw.arg: kw.value for kw in call.keywords}
        step = kwargs.get("step_id") or kwargs.get("progress_action")
        if step is None and call.args:
            step = call.args[0]
        placeholders = kwargs.get("description_placeholders")
        if isinstance(placeholders, ast.Name):
            placeholders = named.get(placeholders.id)
        if isinstance(step, ast.Constant) and isinstance(placeholders, ast.Dict):
            supplied.setdefault(step.value, set()).update(
                key.value for key in placeholders.keys if isinstance(key, ast.Constant)
            )
    for action, text in STRINGS["config"]["progress"].items():
        assert _placeholders(text) == supplied[action], action
    for flow in FLOWS:
        for step, texts in STRINGS[flow]["step"].items():
            for text in _strings(texts):
                assert _placeholders(text) <= supplied.get(step, set()), step


@pytest.mark.parametrize("text", _strings(STRINGS))
def test_text_has_no_urls_or_references(text: str) -> None:
    """URLs come through placeholders; custom integrations cannot use [%key:...%]."""
    assert not re.search(r"https?://|www\.|\[%key:", text)


def test_menus_name_every_way_to_link() -> None:
    """Each menu the flow shows names its options in the order the flow offers them."""
    menus = {
        kwargs["step_id"].value: kwargs["menu_options"]
        for call in _calls("config_flow.py")
        if isinstance(call.func, ast.Attribute) and call.func.attr == "async_show_menu"
        for kwargs in [{kw.arg: kw.value for kw in call.keywords}]
    }
    assert menus
    for step, options in menus.items():
        assert isinstance(options, ast.Name), step
        assert options.id == "METHODS", step
        assert list(STRINGS["config"]["step"][step]["menu_options"]) == METHODS, step


def test_only_keys_the_frontend_reads() -> None:
    """config holds only what the frontend reads; an external step's text is its step's description."""
    config = STRINGS["config"]
    assert set(config) == {"step", "progress", "error", "abort"}
    assert config["step"]["sign_in"]["description"]


def test_event_types_and_attributes_have_text() -> None:
    """Every event type and every attribute an event can carry has its text."""
    fullest = [
        WebhookEvent.from_json(
            {
                "event": "media.play",
                "Server": {"uuid": "server"},
                "Account": {"title": "Someone"},
                "Player": {
                    "title": "TV",
                    "local": True,
                    "uuid": "player",
                    "publicAddress": "127.0.0.1",
                },
                "Metadata": {
                    "type": media_type,
                    "title": "Title",
                    "grandparentTitle": "Grandparent",
                    "parentTitle": "Parent",
                    "index": 2,
                    "parentIndex": 1,
                    "year": 2008,
                    "librarySectionTitle": "Library",
                },
            }
        )
        for media_type in ("movie", "episode", "track")
    ]
    attributes = {key for event in fullest for key in event_attributes(event)}
    for description in EVENT_DESCRIPTIONS:
        texts = STRINGS["entity"]["event"][description.translation_key][
            "state_attributes"
        ]
        assert list(texts["event_type"]["state"]) == description.event_types
        assert set(texts) - {"event_type"} == attributes
