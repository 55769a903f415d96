"""Check the integration against the newest Home Assistant release, read as text.

The tests run on Home Assistant 2025.4 (the newest that runs on Python 3.13),
while users run the newest release. This script downloads the newest wheel
from PyPI (cached in .venv/ha-newest) and checks, without importing it:

- every name the integration imports from `homeassistant` exists there, and is
  not kept only as a deprecated alias;
- every `self.<name>` the config flow uses from Home Assistant's flow classes
  exists there and does not report itself as deprecated.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
import re
import subprocess
import sys
import zipfile

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "plex_link"
CACHE = ROOT / ".venv" / "ha-newest"
FLOW_CLASSES = {
    "homeassistant/config_entries.py": ("ConfigFlow", "ConfigEntryBaseFlow"),
    "homeassistant/data_entry_flow.py": ("FlowHandler",),
}
DEPRECATION_CALLS = {"report_usage", "_report_deprecated", "report"}
_UNPARENTHESIZED_EXCEPT = re.compile(
    r"^(\s*)except\s+([^()\n:]+,[^()\n:]+):", re.MULTILINE
)


@dataclass(frozen=True)
class Wheel:
    """The newest Home Assistant wheel, read without installing it."""

    path: Path

    @property
    def version(self) -> str:
        """Return the release the wheel holds."""
        return self.path.name.split("-")[1]

    def module(self, dotted: str) -> ast.Module | None:
        """Return the parsed source of a homeassistant module, or None if absent."""
        base = dotted.replace(".", "/")
        with zipfile.ZipFile(self.path) as wheel:
            names = set(wheel.namelist())
            for candidate in (f"{base}.py", f"{base}/__init__.py"):
                if candidate in names:
                    return parse_newer_python(wheel.read(candidate).decode())
        return None

    def is_module(self, dotted: str) -> bool:
        """Tell whether a dotted name is a module of the wheel."""
        return self.module(dotted) is not None


def parse_newer_python(source: str) -> ast.Module:
    """Parse source written for a newer Python than this one.

    Home Assistant 2026.3 and newer use Python 3.14's `except A, B:` (PEP 758);
    it is put back in parentheses so this Python's parser reads it.
    """
    return ast.parse(_UNPARENTHESIZED_EXCEPT.sub(r"\1except (\2):", source))


def newest_wheel() -> Wheel:
    """Download the newest homeassistant wheel, or reuse the cached one."""
    listing = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "index",
            "versions",
            "homeassistant",
            "--ignore-requires-python",
            "--disable-pip-version-check",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"homeassistant \(([^)]+)\)", listing)
    if match is None:
        raise SystemExit(
            f"Could not find the newest Home Assistant release:\n{listing}"
        )
    version = match.group(1)
    cached = CACHE / f"homeassistant-{version}-py3-none-any.whl"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in CACHE.glob("*.whl"):
            old.unlink()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--ignore-requires-python",
                "--disable-pip-version-check",
                "--dest",
                str(CACHE),
                f"homeassistant=={version}",
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
    return Wheel(cached)


def top_level_names(module: ast.Module) -> set[str]:
    """Return the names a module defines at top level, including in if/try blocks."""
    names: set[str] = set()
    pending: list[ast.stmt] = list(module.body)
    while pending:
        node = pending.pop()
        match node:
            case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef():
                names.add(node.name)
            case ast.Assign():
                names.update(
                    n.id
                    for t in node.targets
                    for n in ast.walk(t)
                    if isinstance(n, ast.Name)
                )
            case (
                ast.AnnAssign(target=ast.Name(id=name))
                | ast.TypeAlias(name=ast.Name(id=name))
            ):
                names.add(name)
            case ast.Import() | ast.ImportFrom():
                names.update(
                    (alias.asname or alias.name).split(".")[0] for alias in node.names
                )
            case ast.If() | ast.Try():
                pending.extend(node.body + node.orelse)
                pending.extend(getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    pending.extend(handler.body)
    return names


def imported_names() -> list[tuple[Path, int, str, str]]:
    """Return (file, line, module, name) for each name imported from homeassistant."""
    found = []
    for path in sorted(INTEGRATION.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] == "homeassistant"
            ):
                found.extend(
                    (path, node.lineno, node.module or "", a.name) for a in node.names
                )
            elif isinstance(node, ast.Import):
                found.extend(
                    (path, node.lineno, a.name, "")
                    for a in node.names
                    if a.name.split(".")[0] == "homeassistant"
                )
    return found


def flow_members(wheel: Wheel) -> dict[str, ast.AST]:
    """Return the methods and attributes Home Assistant's flow classes define."""
    members: dict[str, ast.AST] = {}
    for module_path, classes in FLOW_CLASSES.items():
        module = wheel.module(module_path.removesuffix(".py").replace("/", "."))
        assert module is not None, module_path
        for node in module.body:
            if isinstance(node, ast.ClassDef) and node.name in classes:
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        members.setdefault(item.name, item)
                    elif isinstance(item, ast.AnnAssign) and isinstance(
                        item.target, ast.Name
                    ):
                        members.setdefault(item.target.id, item)
                    elif isinstance(item, ast.Assign):
                        for target in item.targets:
                            if isinstance(target, ast.Name):
                                members.setdefault(target.id, item)
    return members


def reports_deprecation(node: ast.AST) -> bool:
    """Tell whether a member reports itself deprecated whenever it is used.

    A reporter called straight from the function body counts; reports under a
    condition (a misuse of the member) do not.
    """
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    return any(
        isinstance(statement, ast.Expr)
        and isinstance(call := statement.value, ast.Call)
        and isinstance(call.func, ast.Name | ast.Attribute)
        and (call.func.id if isinstance(call.func, ast.Name) else call.func.attr)
        in DEPRECATION_CALLS
        for statement in node.body
    )


def flow_attribute_uses() -> set[str]:
    """Return the self.<name> the config flow uses without defining it."""
    tree = ast.parse((INTEGRATION / "config_flow.py").read_text("utf-8"))
    defined: set[str] = set()
    used: set[str] = set()
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for item in cls.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                defined.add(item.name)
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                defined.add(item.target.id)
            elif isinstance(item, ast.Assign):
                defined.update(t.id for t in item.targets if isinstance(t, ast.Name))
        for node in ast.walk(cls):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                used.add(node.attr)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                used.add(str(node.args[1].value))
    return used - defined


def main() -> int:
    """Check the imports and flow members; print what fails."""
    wheel = newest_wheel()
    problems: list[str] = []
    checked = 0
    cache: dict[str, set[str] | None] = {}
    for path, line, module, name in imported_names():
        where = f"{path.relative_to(ROOT)}:{line}"
        if module not in cache:
            parsed = wheel.module(module)
            cache[module] = None if parsed is None else top_level_names(parsed)
        names = cache[module]
        checked += 1
        if names is None:
            problems.append(f"{where}: module {module} is gone in {wheel.version}")
        elif name and name not in names and not wheel.is_module(f"{module}.{name}"):
            problems.append(f"{where}: {module}.{name} is gone in {wheel.version}")
        elif name and f"_DEPRECATED_{name}" in names:
            problems.append(
                f"{where}: {module}.{name} is deprecated in {wheel.version}"
            )

    members = flow_members(wheel)
    for name in sorted(flow_attribute_uses()):
        checked += 1
        if name not in members:
            problems.append(
                f"config_flow.py: self.{name} is gone from the flow classes in {wheel.version}"
            )
        elif reports_deprecation(members[name]):
            problems.append(
                f"config_flow.py: self.{name} is deprecated in {wheel.version}"
            )

    for problem in problems:
        print(problem)
    print(
        f"Checked {checked} names against Home Assistant {wheel.version}: "
        f"{'all present' if not problems else f'{len(problems)} problems'}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
