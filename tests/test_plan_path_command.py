"""``manage.py plan_path``: the plan on the real Common Core graph, optional node attributes, and error exits."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
COHERENCE = SHARED_DATA / "common_core_math_coherence.json"


def plan_json(capsys, *args: str) -> dict:
    call_command("plan_path", "--graph", str(COHERENCE), *args, "--json")
    return json.loads(capsys.readouterr().out)


def test_plans_on_the_common_core_graph_with_every_prerequisite_first(capsys):
    doc = json.loads(COHERENCE.read_text())
    grade_3 = [n["id"] for n in doc["nodes"] if n["id"][0] in "K123" and n["id"] != "3.OA.A.3"]
    mastered = ",".join(grade_3) + ",3.OA.A.3=0.5,4.OA.A.2=0.6"
    plan = plan_json(capsys, "--mastered", mastered, "--goals", "4.NF.B.3a,4.NF.B.4a", "--weak", "3.NF.A.1")
    assert {"steps", "cost", "lower_bound", "bound_factor", "reasons"} <= set(plan)
    assert plan["steps"] == ["3.NF.A.1", "4.NF.B.3a", "3.OA.A.3", "4.OA.A.2", "4.NF.B.4a"]
    assert plan["reasons"]["3.OA.A.3"] == "needed by goal 4.NF.B.4a (through 4.OA.A.2); your mastery is 0.50"
    assert plan["review"] == ["3.NF.A.1"] and "review: marked weak" in plan["reasons"]["3.NF.A.1"]
    known = set(grade_3) - {"3.NF.A.1"}
    for step in plan["steps"]:
        needs = {e["from"] for e in doc["edges"] if e["to"] == step and e["kind"] == "prerequisite"}
        assert needs <= known, step
        known.add(step)
    assert plan["lower_bound"] == plan["cost"] and plan["bound_factor"] >= 1


def test_text_output_lists_steps_with_reasons_and_the_bound(capsys):
    call_command(
        "plan_path", "--graph", str(COHERENCE), "--mastered", "3.NF.A.1,4.NF.A.1", "--goals", "4.NF.A.1,3.NF.A.2"
    )
    out = capsys.readouterr().out
    assert "1. 2.MD.B.6" in out and "needed by goal 3.NF.A.2" in out and "2. 3.NF.A.2" in out
    assert "already mastered: 4.NF.A.1" in out and "lower bound" in out and "bound factor" in out


def test_a_cycle_the_goal_needs_is_named(capsys):
    with pytest.raises(CommandError) as excinfo:
        call_command("plan_path", "--graph", str(COHERENCE), "--goals", "1.G.A.1")
    assert "cycle: K.G.A.2 -> " in str(excinfo.value) and "--break-cycles" in str(excinfo.value)


def test_unknown_ids_are_named(capsys):
    with pytest.raises(CommandError, match=r"unknown concept id\(s\): 9.ZZ.1, K.XX.9"):
        call_command("plan_path", "--graph", str(COHERENCE), "--mastered", "K.XX.9", "--goals", "9.ZZ.1")


def small_graph(tmp_path: Path, **extra) -> Path:
    doc = {
        "source": "test",
        "nodes": [
            {"id": "unit", "description": "Unit fractions"},
            {"id": "area", "description": "Area model", "difficulty": 2.0, "problems": 10},
            {"id": "line", "description": "Number line", "difficulty": -1.0, "passages": ["p1"]},
            {"id": "equiv", "description": "Equivalent fractions", "any_of": [["area", "line"]], **extra},
        ],
        "edges": [
            {"from": "unit", "to": "area", "kind": "prerequisite", "note": ""},
            {"from": "unit", "to": "line", "kind": "prerequisite", "note": ""},
        ],
    }
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(doc))
    return path


def test_node_attributes_and_any_of_steer_the_plan(tmp_path, capsys):
    call_command("plan_path", "--graph", str(small_graph(tmp_path)), "--mastered", "unit", "--goals", "equiv", "--json")
    plan = json.loads(capsys.readouterr().out)
    assert plan["steps"] == ["line", "equiv"]
    assert "any_of group [area, line]" in plan["reasons"]["line"]


def test_an_invalid_graph_names_the_place_and_the_id(tmp_path):
    path = small_graph(tmp_path, any_of=[["area", "ghost"]])
    with pytest.raises(CommandError, match=r"nodes\[3\]\.any_of\[0\]\[1\]: unknown concept 'ghost'"):
        call_command("plan_path", "--graph", str(path), "--goals", "equiv")
    with pytest.raises(CommandError, match="no-such.json"):
        call_command("plan_path", "--graph", str(tmp_path / "no-such.json"), "--goals", "equiv")


def test_errors_exit_non_zero_with_the_message_on_stderr(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "manage.py", "plan_path", "--graph", str(COHERENCE), "--goals", "5.NF.A.1,NOPE.1"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "unknown concept id(s): NOPE.1" in result.stderr
    result = subprocess.run(
        [*command[:-1], "5.NF.A.1", "--break-cycles", "--json"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0 and json.loads(result.stdout.splitlines()[-1])["steps"][-1] == "5.NF.A.1"
