"""The documents a newcomer reads stay true to the code: docs/api.md's SDL is the schema's,
every link in the README and docs/ leads to a file of the repository, and the files of a
post's path named in docs/architecture.md and in the README exist, in the same order.

`python -m tests.test_docs` (or `make api-sdl`) rewrites docs/api.md's SDL from the schema."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_MD = ROOT / "docs" / "api.md"
# The SDL is the first graphql block after the "### SDL" heading.
SDL_BLOCK = re.compile(r"(### SDL\n.*?```graphql\n)(.*?)(```)", re.DOTALL)
REGENERATE = "run `make api-sdl` (or `python -m tests.test_docs`) and commit docs/api.md"
README_MAX_LINES = 150


def schema_sdl():
    from chatsite.schema import schema

    return str(schema).strip() + "\n"


def documented_sdl(text):
    match = SDL_BLOCK.search(text)
    assert match, "docs/api.md has no ```graphql block under '### SDL'"
    return match.group(2)


def with_sdl(text, sdl):
    return SDL_BLOCK.sub(lambda match: match.group(1) + sdl + match.group(3), text, count=1)


def test_the_sdl_in_docs_api_md_is_the_schema():
    documented = documented_sdl(API_MD.read_text())
    assert documented == schema_sdl(), f"docs/api.md's SDL differs from the schema: {REGENERATE}"


def test_rewriting_the_sdl_changes_only_the_sdl_block():
    text = API_MD.read_text()
    stale = with_sdl(text, "type Query {\n  gone: Int\n}\n")
    assert documented_sdl(stale) != schema_sdl()
    assert with_sdl(stale, schema_sdl()) == with_sdl(text, schema_sdl())


def documents():
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "bench").glob("*.md"))]


LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_link_in_the_readme_and_docs_leads_to_a_file_of_the_repository():
    """A web page may be cited from docs/ (a standard, say); the README links only to the
    repository's own files, and no relative link leaves the repository."""
    broken = []
    for document in documents():
        for target in LINK.findall(document.read_text()):
            if target.startswith(("#", "http://127.0.0.1", "http://localhost")):
                continue
            if "://" in target:
                if document.name == "README.md" and document.parent == ROOT:
                    broken.append(f"README.md: {target}")
                continue
            path = (document.parent / target.split("#", 1)[0]).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target}")
    assert not broken, f"links outside the repository or to no file: {broken}"


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES, "the README is for a first read: move detail to docs/"
    assert "../" not in readme, "the README names no file outside the repository"
    for linked in ("docs/api.md", "docs/architecture.md", "docs/operations.md", "bench/RESULTS.md"):
        assert f"]({linked})" in readme, f"the README links to {linked}"


PATH_ROW = re.compile(r"^\| *(\d+) *\| *`([^`]+)`", re.MULTILINE)


def post_path():
    """The files one post crosses, in order, from docs/architecture.md's table."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## The path of one post", 1)[1].split("\n## ", 1)[0]
    rows = PATH_ROW.findall(section)
    assert [int(step) for step, _ in rows] == list(range(1, len(rows) + 1)), "the steps are numbered 1, 2, 3, ..."
    return [name for _, name in rows]


def test_the_post_path_names_files_that_exist_and_the_readme_names_the_same_ones_in_order():
    path = post_path()
    assert len(path) >= 5
    assert all((ROOT / name).is_file() for name in path), [name for name in path if not (ROOT / name).is_file()]
    readme = (ROOT / "README.md").read_text()
    assert "<!-- post-path -->" in readme, "the README names the post's route between <!-- post-path --> markers"
    route = readme.split("<!-- post-path -->", 1)[1].split("<!-- /post-path -->", 1)[0]
    named = re.findall(r"`([\w/]+\.py)`", route)
    assert named == path, "the README's route and docs/architecture.md's table name the same files in order"


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    text = API_MD.read_text()
    API_MD.write_text(with_sdl(text, schema_sdl()))
    print("docs/api.md: SDL", "unchanged" if with_sdl(text, schema_sdl()) == text else "rewritten")
