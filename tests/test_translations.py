"""Every translation key the code uses exists, with the placeholders it needs."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
import string

import pytest
import yaml

from custom_components.plex_link.config_flow import METHODS

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "plex_link"
STRINGS = json.loads((INTEGRATION / "translations" / "en.json").read_text("utf-8"))
ICONS = json.loads((INTEGRATION / "icons.json").read_text("utf-8"))


def _calls(module: str) -> list[ast.Call]:
    """Return every call in a module of the integration."""
    tree = ast.parse((INTEGRATION / module).read_text("utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _keyword_strings(module: str, keyword: str) -> set[str]:
    """Return the string literals passed as a keyword argument anywhere in module."""
    return {
        kw.value.value
        for call in _calls(module)
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


def test_steps_shown_have_text() -> None:
    """Every step id the flow shows, or moves to, has a title."""
    steps = _keyword_strings("config_flow.py", "step_id") | _keyword_strings(
        "config_flow.py", "next_step_id"
    )
    assert steps
    for step in steps:
        assert STRINGS["config"]["step"][step]["title"], step


def test_progress_actions_have_text() -> None:
    """Every progress action has its text."""
    actions = _keyword_strings("config_flow.py", "progress_action")
    assert actions
    assert set(STRINGS["config"]["progress"]) == actions


def test_errors_and_aborts_exist() -> None:
    """Every error and abort key the flow can produce is translated, and no other."""
    assert set(STRINGS["config"]["error"]) == _error_keys()
    aborts = _keyword_strings("config_flow.py", "reason")
    assert set(STRINGS["config"]["abort"]) == aborts
    for reason, text in STRINGS["config"]["abort"].items():
        assert "account" in _placeholders(text), reason
        assert _placeholders(text) <= {"account", "name"}, reason


def test_exception_keys_exist() -> None:
    """Every translated exception the integration raises has a message, and no other."""
    keys = {
        key
        for path in INTEGRATION.glob("*.py")
        for key in _keyword_strings(path.name, "translation_key")
    } - _entity_keys()
    assert keys == set(STRINGS["exceptions"])
    for key in keys:
        assert STRINGS["exceptions"][key]["message"]


def _entity_keys(platform: str | None = None) -> set[str]:
    """Return the translation keys of a platform's entity descriptions (or all)."""
    modules = [f"{platform}.py"] if platform else ["binary_sensor.py", "sensor.py"]
    return {
        key for module in modules for key in _keyword_strings(module, "translation_key")
    }


@pytest.mark.parametrize("platform", ["binary_sensor", "sensor"])
def test_entities_have_names_and_icons(platform: str) -> None:
    """Every entity translation key has a name and an icon, and no other exists."""
    keys = _entity_keys(platform)
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
    for step, texts in STRINGS["config"]["step"].items():
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
