"""Fuzzing the curriculum importer with hypothesis: garbage in, a named error out, nothing half-written.

Three layers, each fed what an admin's file could hold:

- the file reader (``package.read_package`` + ``sources.convert``): random
  bytes, broken UTF-8, YAML and JSON fragments, zips with random entries
  (traversal names, wrong manifests, garbage inside). Only ``PackageError``,
  naming the file, may escape;
- the importer (``curriculum_import``): a valid package
  (``tests/data/mini-fractions.json``) mutated: keys dropped, values replaced
  by wrong types, huge or odd unicode strings and nested garbage, duplicate
  ids, prerequisite cycles, answers that do not parse. Only
  ``CurriculumInvalid`` may escape, each issue naming its path; on failure
  no curricula (or audit) row was written; on success the import is
  complete (every concept, problem, subproblem, passage and item);
- the admin upload view (check, then publish) through the test client: it
  never answers 500, writes nothing but the upload record when the file is
  bad, and publishes completely when it is good.

Schemathesis is not used: the project has no OpenAPI schema (its HTTP API
is server-rendered pages and one WebSocket), so there is nothing for it to
read. Examples are derandomized (the same every run, as CI needs) and
hypothesis keeps no example database.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile

import pytest
import yaml
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_DATA, login
from tutor.curricula.importer import CurriculumInvalid, curriculum_import
from tutor.curricula.package import MANIFEST_NAMES, PackageError, read_package
from tutor.curricula.sources import convert

# Zips with a repeated entry name are one of the shapes fuzzed; zipfile warns as it writes them.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
VALID = json.loads((TEST_DATA / "mini-fractions.json").read_text())
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- what an admin's file may hold ----------------------------------------------------------------

odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "\u202e", "\ud7ff", "💥" * 50, "ß" * 300, "$\\frac{", "{{", "a" * 100_000]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), odd_text)
garbage = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(odd_text, inner, max_size=3)),
    max_leaves=8,
)


FREE_TEXT = {"title", "description", "name", "statement", "question", "solution", "feedback", "text", "attribution"}
prose = st.one_of(
    st.text(min_size=1, max_size=200).filter(str.strip),
    st.sampled_from(
        ["ünïcödé ∑ ½ → ✓", "\u202eright-to-left", "<script>alert(1)</script>", "$\\frac{1}{2}$", "x" * 20_000]
    ),
)


def paths(node, here=()) -> list[tuple]:
    """Every place in a JSON value: dict keys and list indexes, depth first."""
    found = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*here, index))
    return found


def parent_of(doc, path):
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated_packages(draw) -> dict:
    """The valid package with one to three mutations, generic or aimed at the package's rules."""
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(0, 3))):
        places = [p for p in paths(doc) if p]
        operation = draw(
            st.sampled_from(["drop", "replace", "duplicate", "cycle", "bad_answer", "rename", "retext", "retext"])
        )
        if operation == "retext":  # free text an author may well write: odd unicode, markup, long
            texts = [p for p in places if p[-1] in FREE_TEXT or (len(p) >= 2 and p[-2] == "hints")]
            path = draw(st.sampled_from(texts))
            parent_of(doc, path)[path[-1]] = draw(prose)
            continue
        if operation == "cycle":
            concepts = [c for c in doc.get("concepts", []) if isinstance(c, dict) and isinstance(c.get("id"), str)]
            if len(concepts) >= 2:
                a, b = draw(st.permutations(concepts))[:2]
                a["prerequisites"] = [b["id"]]
                b["prerequisites"] = [a["id"]]
            continue
        if operation == "bad_answer":
            answers = [p for p in places if p[-1] == "value" and len(p) >= 2 and p[-2] == "answer"]
            if answers:
                path = draw(st.sampled_from(answers))
                parent_of(doc, path)[path[-1]] = draw(st.sampled_from(["", "7//8", "x**", "seven-ish", "1/0", "∞"]))
            continue
        path = draw(st.sampled_from(places))
        parent = parent_of(doc, path)
        key = path[-1]
        if operation == "drop":
            del parent[key]
        elif operation == "replace":
            parent[key] = draw(garbage)
        elif operation == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))  # a second entry with the same id
        elif operation == "rename" and isinstance(parent, dict):
            parent[draw(odd_text)] = parent.pop(key)
    return doc


def row_counts() -> dict[str, int]:
    """Rows in every table the importer could write: the curricula app's (m2m included) and the audit log."""
    models = [
        *apps.get_app_config("curricula").get_models(include_auto_created=True),
        *apps.get_app_config("audit").get_models(include_auto_created=True),
    ]
    return {model._meta.db_table: model.objects.count() for model in models}


def assert_names_a_path(error: CurriculumInvalid) -> None:
    assert error.issues, "an invalid package has at least one issue"
    for issue in error.issues:
        assert isinstance(issue.message, str) and issue.message
        assert isinstance(issue.path, str)  # "" is the package's root
    assert str(error).startswith(f"{len(error.issues)} problem(s) found")


def assert_imported_completely(curriculum, doc: dict) -> None:
    assert curriculum.concepts.count() == len(doc["concepts"])
    assert curriculum.problems.count() == len(doc["problems"])
    subproblems = sum(len(p.get("subproblems", [])) for p in doc["problems"])
    assert sum(p.subproblems.count() for p in curriculum.problems.all()) == subproblems
    assert curriculum.passages.count() == len(doc.get("passages", []))
    assert curriculum.items.count() == len(doc.get("items", []))


@pytest.fixture(autouse=True)
def _no_indexing(settings):
    settings.INDEX_PASSAGES = "off"


# --- the file layer -----------------------------------------------------------------------------------

filenames = st.sampled_from(["pkg.json", "pkg.yaml", "pkg.yml", "pkg.zip", "PKG.JSON", "pkg.txt", "noext"])
file_bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda t: t.encode("utf-8")),
    garbage.map(lambda v: json.dumps(v).encode()),
    garbage.map(lambda v: yaml.safe_dump(v).encode()),
    mutated_packages().map(lambda d: json.dumps(d).encode()),
    st.sampled_from(
        [b"\xef\xbb\xbf{}", b"\xff\xfe{", b"- - - [", b"a: &x [*x]", b"!!python/object:os.system {}", b"PK\x03\x04junk"]
    ),
)


@st.composite
def zips(draw) -> bytes:
    names = st.one_of(
        st.sampled_from([*MANIFEST_NAMES, "../curriculum.json", "/abs.json", "dir/curriculum.json"]), odd_text
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in draw(st.lists(names, max_size=4)):
            try:
                archive.writestr(name or "empty", draw(file_bodies))
            except (ValueError, UnicodeEncodeError):
                pass  # a name zipfile itself refuses to write
    return buffer.getvalue()


@FUZZ
@given(data=st.one_of(file_bodies, zips()), filename=filenames)
@example(data=b"\xff\xfe\x00", filename="pkg.json")
@example(data=b"a: &x [*x]\nb: *x", filename="pkg.yaml")
def test_reading_any_file_raises_only_a_package_error_naming_it(data, filename):
    try:
        doc = read_package(data, filename)
        convert(doc, "auto")
    except PackageError as exc:
        assert str(exc), "the error says what is wrong"


# --- the importer -------------------------------------------------------------------------------------


def with_change(path: tuple, value) -> dict:
    doc = copy.deepcopy(VALID)
    parent_of(doc, path)[path[-1]] = value
    return doc


@FUZZ
@given(doc=mutated_packages())
# Found by this test: a misconception id of the wrong type crashed validation (TypeError, a 500 on upload).
@example(doc=with_change(("problems", 0, "subproblems", 0, "misconceptions", 0, "id"), []))
# A NUL character in any text: PostgreSQL refused it mid-import (DataError, a 500 on publish).
@example(doc=with_change(("problems", 0, "statement"), "Maya ran\x00 far"))
def test_importing_a_mutated_package_is_all_or_nothing(db, doc):
    before = row_counts()
    try:
        result = curriculum_import(doc)
    except CurriculumInvalid as exc:
        event(f"refused: {exc.issues[0].code}")
        assert_names_a_path(exc)
        assert row_counts() == before, "a refused import wrote nothing"
        return
    event("imported")
    assert_imported_completely(result.curriculum, doc)


@FUZZ
@given(doc=garbage)
def test_importing_garbage_is_refused_with_issues(db, doc):
    before = row_counts()
    with pytest.raises(CurriculumInvalid) as refused:
        curriculum_import(doc)
    assert_names_a_path(refused.value)
    assert row_counts() == before


# --- the admin upload view ----------------------------------------------------------------------------


@settings(FUZZ, max_examples=30)
@given(
    body=st.one_of(file_bodies, zips()),
    filename=filenames,
    fmt=st.sampled_from(["auto", "tutorgraph", "coherence", "oatutor", "nope"]),
)
def test_upload_view_never_fails_and_publishes_all_or_nothing(client, adam, body, filename, fmt):
    from tutor.curricula.models import Curriculum, CurriculumUpload

    login(client, adam)
    before = row_counts()
    uploads = CurriculumUpload.objects.count()
    response = client.post("/curricula/upload/", {"package": SimpleUploadedFile(filename, body), "format": fmt})
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:  # refused before reading: the form again, with the reason
        assert CurriculumUpload.objects.count() == uploads
        assert row_counts() == before
        return
    upload = CurriculumUpload.objects.latest("pk")
    assert response["Location"] == f"/curricula/uploads/{upload.pk}/"
    assert client.get(response["Location"]).status_code == 200
    checked = row_counts()
    assert {k: v for k, v in checked.items() if k != CurriculumUpload._meta.db_table} == {
        k: v for k, v in before.items() if k != CurriculumUpload._meta.db_table
    }, "checking an upload writes only the upload"
    package = copy.deepcopy(upload.package)  # stored only when the check found no issue
    published = client.post(f"/curricula/uploads/{upload.pk}/publish/")
    assert published.status_code == 302
    upload.refresh_from_db()
    event(f"upload {upload.status}")
    if upload.status == CurriculumUpload.Status.PUBLISHED:
        assert_imported_completely(upload.curriculum, package)
    else:
        assert package is None and upload.status == CurriculumUpload.Status.INVALID and upload.issues
        assert Curriculum.objects.count() == before[Curriculum._meta.db_table]
        assert {k: v for k, v in row_counts().items() if k != CurriculumUpload._meta.db_table} == {
            k: v for k, v in checked.items() if k != CurriculumUpload._meta.db_table
        }
