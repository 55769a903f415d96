"""Every translation has en.json's keys, placeholders and Markdown, and is translated."""

from __future__ import annotations

import json
from pathlib import Path
import re
import string

import pytest

TRANSLATIONS = (
    Path(__file__).parent.parent / "custom_components" / "plex_link" / "translations"
)
EXPECTED_LANGUAGES = {
    "cs",
    "da",
    "de",
    "es",
    "fi",
    "fr",
    "it",
    "nb",
    "nl",
    "pl",
    "pt",
    "pt-BR",
    "sv",
    "uk",
}
ENGLISH = json.loads((TRANSLATIONS / "en.json").read_text("utf-8"))
LANGUAGES = sorted(
    path.stem for path in TRANSLATIONS.glob("*.json") if path.stem != "en"
)
# Markdown links and images: optional "!", the text in brackets, the target.
MARKDOWN_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)]*)\)")


def _load(language: str) -> dict:
    """Return one translation file."""
    return json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))


def _leaves(tree: object, path: str = "") -> dict[str, object]:
    """Return every leaf of a translation tree by its dotted key path, in file order."""
    if isinstance(tree, dict):
        leaves: dict[str, object] = {}
        for key, value in tree.items():
            leaves.update(_leaves(value, f"{path}.{key}" if path else key))
        return leaves
    return {path: tree}


def _placeholders(text: str) -> set[str]:
    """Return the {placeholders} of a translation string."""
    return {
        name for _, name, _, _ in string.Formatter().parse(text) if name is not None
    }


def _is_sentence(text: str) -> bool:
    """Whether an English string is a sentence that has to be translated."""
    return " " in text and text.endswith((".", "?", ":")) and len(text) > 20


def _markdown_shape(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Return each line's heading marker and its links' kind and target."""
    return [
        (
            re.match(r"#*", line).group(),
            [(bang, target) for bang, _, target in MARKDOWN_LINK.findall(line)],
        )
        for line in text.split("\n")
    ]


ENGLISH_LEAVES = _leaves(ENGLISH)


def test_every_language_is_there() -> None:
    """The translations folder holds at least the languages Plex Link ships."""
    missing = EXPECTED_LANGUAGES - set(LANGUAGES)
    assert not missing, f"missing translations: {sorted(missing)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_keys_as_english(language: str) -> None:
    """A translation has exactly en.json's key paths, in en.json's order."""
    leaves = _leaves(_load(language))
    missing = ENGLISH_LEAVES.keys() - leaves.keys()
    extra = leaves.keys() - ENGLISH_LEAVES.keys()
    assert not missing, f"{language} lacks {sorted(missing)}"
    assert not extra, f"{language} has keys en.json does not: {sorted(extra)}"
    assert list(leaves) == list(ENGLISH_LEAVES), (
        f"{language} orders its keys differently"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_value_is_a_non_empty_string(language: str) -> None:
    """Each value of a translation is text."""
    for path, text in _leaves(_load(language)).items():
        assert isinstance(text, str), f"{language} {path} is not a string"
        assert text.strip(), f"{language} {path} is empty"


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_placeholders_as_english(language: str) -> None:
    """Each string has exactly the {placeholders} of its English string."""
    leaves = _leaves(_load(language))
    for path, english in ENGLISH_LEAVES.items():
        if path not in leaves:
            continue  # reported by test_same_keys_as_english
        assert _placeholders(leaves[path]) == _placeholders(english), (
            f"{language} {path}: {sorted(_placeholders(leaves[path]))} "
            f"instead of {sorted(_placeholders(english))}"
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_urls_or_html(language: str) -> None:
    """URLs come through placeholders; no string carries a URL, HTML or a key reference."""
    for path, text in _leaves(_load(language)).items():
        found = re.search(r"https?://|www\.|<|\[%key:", text, re.IGNORECASE)
        assert found is None, f"{language} {path} contains {found.group()!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_sentences_are_translated(language: str) -> None:
    """No English sentence is left in place of its translation."""
    leaves = _leaves(_load(language))
    untranslated = [
        path
        for path, english in ENGLISH_LEAVES.items()
        if _is_sentence(english) and leaves.get(path) == english
    ]
    assert not untranslated, f"{language} leaves English in {untranslated}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_markdown_as_english(language: str) -> None:
    """Links, images, headings and line breaks stay where English has them."""
    leaves = _leaves(_load(language))
    for path, english in ENGLISH_LEAVES.items():
        text = leaves.get(path)
        if text is None:
            continue  # reported by test_same_keys_as_english
        assert _markdown_shape(text) == _markdown_shape(english), f"{language} {path}"
        english_alts = {alt for bang, alt, _ in MARKDOWN_LINK.findall(english) if bang}
        for bang, alt, _ in MARKDOWN_LINK.findall(text):
            if bang:
                assert alt.strip(), f"{language} {path}: an image has no alt text"
                assert alt not in english_alts, (
                    f"{language} {path}: alt text in English"
                )


@pytest.mark.parametrize("language", LANGUAGES)
def test_file_format(language: str) -> None:
    """UTF-8 JSON with 2-space indent, characters unescaped and a trailing newline."""
    raw = (TRANSLATIONS / f"{language}.json").read_text("utf-8")
    assert raw == json.dumps(json.loads(raw), ensure_ascii=False, indent=2) + "\n"
