"""Docs that cannot rot: every ```python block of README.md and docs/*.md runs, every relative link resolves.

The blocks of one page run in order in one namespace (a later block may use an earlier one's
names), in a scratch directory. A block whose preceding line is ``<!-- not run: reason -->`` (it
needs a GPU, a server or a download) is skipped, and the test says which were skipped.
"""

from __future__ import annotations

import pathlib
import re
import warnings

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.+?)\s*-->$")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)\s*$")
# [text](target) and ![alt](target); <img src="target">.
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)|<img[^>]*\bsrc=\"(?P<src>[^\"]+)\"")


def code_blocks(text):
    """``(line, language, code, not_run_reason)`` for every fenced block of a Markdown text."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, start = len(opening["indent"]), index
        body = []
        index += 1
        while index < len(lines) and not re.match(r"^ *```\s*$", lines[index]):
            body.append(lines[index][indent:])
            index += 1
        previous = lines[start - 1].strip() if start else ""
        reason = NOT_RUN.match(previous)
        blocks.append((start + 1, opening["lang"], "\n".join(body) + "\n", reason and reason["reason"]))
        index += 1
    return blocks


def relative_links(text):
    """Link targets that point inside the repository (no scheme, not a bare ``#anchor``)."""
    prose = re.sub(r"^ *```.*?^ *```", "", text, flags=re.S | re.M)  # links inside code are code
    for match in LINK.finditer(prose):
        target = match["target"] or match["src"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue
        yield target.split("#", 1)[0]


def test_the_parsers_find_blocks_markers_and_links():
    text = (
        "Intro [a](docs/a.md#x) and ![b](images/b.png), [web](https://x.org), [here](#top).\n"
        "```python\nx = 1\n```\n"
        "<!-- not run: needs a GPU -->\n"
        "```python\ny = 2\n```\n"
        "```bash\nls [c](not/a/link.md)\n```\n"
    )
    assert code_blocks(text) == [
        (2, "python", "x = 1\n", None), (6, "python", "y = 2\n", "needs a GPU"), (9, "bash", "ls [c](not/a/link.md)\n", None),
    ]
    assert list(relative_links(text)) == ["docs/a.md", "images/b.png"]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_python_block_runs(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem}"}
    skipped = []
    for line, language, code, reason in code_blocks(page.read_text()):
        if language != "python":
            continue
        where = f"{page.relative_to(ROOT)}:{line}"
        if reason:
            skipped.append(f"{where} ({reason})")
            continue
        exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the docs' own examples
    if skipped:
        message = f"not run: {'; '.join(skipped)}"
        with capsys.disabled():
            print(f"\n{message}")
        warnings.warn(message, UserWarning, stacklevel=1)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_resolves(page):
    broken = [target for target in relative_links(page.read_text()) if not (page.parent / target).exists()]
    assert broken == [], f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def heading_anchors(text) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    prose = re.sub(r"^ *```.*?^ *```", "", text, flags=re.S | re.M)
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", prose, flags=re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors


def test_heading_anchors_follow_github():
    assert heading_anchors("## XLA on a CPU (`--jit`)\n## Training steps: `benchmarks/train_step.py`\n") == {
        "xla-on-a-cpu---jit", "training-steps-benchmarkstrain_steppy"}


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_anchor_of_a_markdown_link_exists(page):
    prose = re.sub(r"^ *```.*?^ *```", "", page.read_text(), flags=re.S | re.M)
    broken = []
    for match in LINK.finditer(prose):
        target = match["target"] or match["src"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or "#" not in target:
            continue
        path, anchor = target.split("#", 1)
        linked = page if not path else page.parent / path
        if linked.suffix == ".md" and linked.exists() and anchor not in heading_anchors(linked.read_text()):
            broken.append(target)
    assert broken == [], f"{page.relative_to(ROOT)} links to missing headings: {broken}"
