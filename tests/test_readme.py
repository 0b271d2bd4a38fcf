"""The README's "How it is built" tree names every module of the package, so it cannot fall behind."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "styledrop"


def tree_entries() -> dict[str, str]:
    """Top-level entry of the tree ('cli.py', 'feedback/', ...) -> its text, continuation lines included."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## How it is built\n\n```\nsrc/styledrop/\n(.*?)```", readme, re.DOTALL).group(1)
    entries, name = {}, None
    for line in block.splitlines():
        if re.match(r"  \S", line):  # a new entry; deeper indents continue the one before
            name = line.split()[0]
            entries[name] = ""
        entries[name] += line + "\n"
    return entries


def test_the_tree_names_every_module():
    entries = tree_entries()
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if path.name == "__init__.py" and len(relative.parts) > 1:
            continue  # a folder's __init__.py: "Each folder's __init__.py says what the folder holds"
        if len(relative.parts) == 1:
            found = path.name in entries or any(f"{path.name}:" in text for text in entries.values())
        else:
            found = re.search(rf"\b{re.escape(path.name)}\b", entries.get(f"{relative.parts[0]}/", "")) is not None
        if not found:
            missing.append(str(relative))
    assert not missing, f"README's tree lacks {missing}"
    assert not [name for name in entries if not (PACKAGE / name).exists()], "the tree names a module that is gone"
