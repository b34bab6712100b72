"""``manage.py import_curriculum``: exit status and messages."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import SHARED_DATA, TEST_DATA
from tutor.curricula.models import Concept, Curriculum, Prerequisite

ROOT = Path(__file__).resolve().parent.parent
COHERENCE = SHARED_DATA / "common_core_math_coherence.json"


def test_imports_a_package_and_reports_its_version(db, capsys):
    call_command("import_curriculum", str(TEST_DATA / "mini-fractions.json"))
    assert "as mini-fractions version 1 (3 concepts" in capsys.readouterr().out
    assert Curriculum.objects.get().problems.count() == 3


def test_dry_run_writes_nothing(db, capsys):
    call_command("import_curriculum", str(TEST_DATA / "mini-fractions.json"), "--dry-run")
    assert "dry run" in capsys.readouterr().out and not Curriculum.objects.exists()


def test_coherence_map_cycles_are_named_and_nothing_is_written(db):
    with pytest.raises(CommandError) as excinfo:
        call_command("import_curriculum", str(COHERENCE))
    message = str(excinfo.value)
    assert "cycle: K.G.A.3 -> K.G.A.2 -> K.G.A.3" in message and str(COHERENCE) in message
    assert not Curriculum.objects.exists()


def test_coherence_map_imports_with_break_cycles(db, capsys):
    call_command("import_curriculum", str(COHERENCE), "--break-cycles")
    out = capsys.readouterr().out
    assert "dropped prerequisite edge" in out
    curriculum = Curriculum.objects.get(slug="ccss-math-coherence")
    assert curriculum.concepts.count() == 256 and curriculum.problems.count() == 0
    assert Prerequisite.objects.filter(requires__key="3.NF.A.1", concept__key="4.NF.A.1").exists() or (
        Prerequisite.objects.filter(concept__curriculum=curriculum).count() > 400
    )
    assert Concept.objects.get(key="5.NF.A.1").standard == "5.NF.A.1"


def test_bad_file_exits_non_zero_naming_file_path_and_problem(tmp_path):
    doc = json.loads((TEST_DATA / "mini-fractions.json").read_text())
    doc["problems"][1]["subproblems"][0]["answer"]["value"] = "seven"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    result = subprocess.run(
        [sys.executable, "manage.py", "import_curriculum", str(bad)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert f"{bad}: problems[1].subproblems[0].answer.value: 'seven' is not a number" in result.stderr


def test_missing_file_is_named(db):
    with pytest.raises(CommandError, match="no-such.json: no such file"):
        call_command("import_curriculum", "no-such.json")


def test_oatutor_content_pool_imports_through_the_cli(db, capsys):
    call_command("import_curriculum", str(TEST_DATA / "oatutor" / "good"), "--id", "oatutor-demo")
    curriculum = Curriculum.objects.get(slug="oatutor-demo")
    assert curriculum.source_format == "oatutor" and curriculum.problems.count() == 3
    assert all(s.hints for p in curriculum.problems.all() for s in p.subproblems.all())


def test_broken_oatutor_pool_names_each_file(db):
    with pytest.raises(CommandError) as excinfo:
        call_command("import_curriculum", str(TEST_DATA / "oatutor" / "bad"), "--format", "oatutor")
    assert "content-pool/" in str(excinfo.value) and not Curriculum.objects.exists()
