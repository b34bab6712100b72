"""Reading package files: JSON, YAML and zips, defensively."""

import io
import json
import zipfile

import pytest

from tutor.curricula.package import MAX_UNCOMPRESSED_BYTES, MAX_ZIP_ENTRIES, PackageError, read_package

DOC = {"format": "tutorgraph-curriculum/1", "id": "x", "title": "X", "concepts": [{"id": "a", "name": "A"}]}


def make_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_json_yaml_and_zip_packages_read_the_same():
    as_json = json.dumps(DOC).encode()
    as_yaml = b"format: tutorgraph-curriculum/1\nid: x\ntitle: X\nconcepts:\n  - {id: a, name: A}\n"
    assert read_package(as_json, "c.json") == DOC
    assert read_package(as_yaml, "c.yaml") == DOC
    assert read_package(make_zip({"curriculum.yaml": as_yaml, "assets/a.png": b"\x89PNG"}), "c.zip") == DOC


def test_invalid_json_names_the_file_line_and_column():
    with pytest.raises(PackageError, match=r"c\.json: invalid JSON at line 2 column 1"):
        read_package(b'{"id": "x",\n}', "c.json")


def test_invalid_yaml_names_the_file_and_line():
    with pytest.raises(PackageError, match=r"c\.yaml: invalid YAML at line 2"):
        read_package(b"id: x\n  title: [unclosed\n", "c.yaml")


def test_yaml_is_only_safe_loaded():
    evil = b"id: !!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(PackageError, match="invalid YAML"):
        read_package(evil, "c.yaml")


@pytest.mark.parametrize("name", ["../curriculum.json", "/etc/curriculum.json", "assets/../../x", "a\\..\\b"])
def test_zip_entries_that_escape_the_package_are_refused(name):
    data = make_zip({"curriculum.json": json.dumps(DOC).encode(), name: b"x"})
    with pytest.raises(PackageError, match="points outside the package"):
        read_package(data, "c.zip")


def test_zip_with_too_many_entries_is_refused_before_extraction():
    entries = {f"assets/{i}.txt": b"" for i in range(MAX_ZIP_ENTRIES + 1)}
    with pytest.raises(PackageError, match=f"over the {MAX_ZIP_ENTRIES} entry limit"):
        read_package(make_zip(entries), "c.zip")


def test_zip_bomb_is_refused_by_its_uncompressed_size():
    data = make_zip({"curriculum.json": json.dumps(DOC).encode(), "assets/zeros": b"\0" * (MAX_UNCOMPRESSED_BYTES + 1)})
    assert len(data) < 1024 * 1024  # tiny on disk...
    with pytest.raises(PackageError, match="uncompressed is over"):
        read_package(data, "c.zip")  # ...refused by what it would expand to


def test_zip_needs_exactly_one_manifest():
    with pytest.raises(PackageError, match=r"found none"):
        read_package(make_zip({"other.json": b"{}"}), "c.zip")
    both = {"curriculum.json": b"{}", "curriculum.yaml": b"{}"}
    with pytest.raises(PackageError, match="found curriculum.json, curriculum.yaml"):
        read_package(make_zip(both), "c.zip")


def test_unknown_file_type_is_refused():
    with pytest.raises(PackageError, match="expected a .json, .yaml, .yml or .zip"):
        read_package(b"<curriculum/>", "c.xml")


def test_non_utf8_text_is_refused():
    with pytest.raises(PackageError, match="not UTF-8"):
        read_package(b"\xff\xfe{", "c.json")


def test_plain_file_over_the_size_limit_is_refused_unparsed(monkeypatch):
    from tutor.curricula import package

    monkeypatch.setattr(package, "MAX_FILE_BYTES", 10)
    with pytest.raises(PackageError, match=r"c\.json: 11 bytes is over the 10 byte limit"):
        read_package(b'{"id": "xx"}'[:11], "c.json")
