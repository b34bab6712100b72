"""``manage.py irt_calibrate``: CSV in, item parameters out, bad lines named."""

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command


def simulate(path, persons=1500, seed=3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.8, 2.0, 6), rng.uniform(-1.5, 1.5, 6)
    theta = rng.normal(0, 1, persons)
    lines = ["person,item,correct"]
    for i, t in enumerate(theta):
        for j in range(6):
            p = 1 / (1 + np.exp(-a[j] * (t - b[j])))
            lines.append(f"s{i},q{j},{int(rng.random() < p)}")
        lines.append(f"s{i},too-easy,1")
    path.write_text("\n".join(lines) + "\n")
    return a, b


def test_calibration_writes_parameters_close_to_the_truth(tmp_path, capsys):
    a, b = simulate(tmp_path / "r.csv")
    call_command(
        "irt_calibrate", "--responses", str(tmp_path / "r.csv"), "--model", "2pl", "--out", str(tmp_path / "o.json")
    )
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["model"] == "2pl" and out["responses"] == 1500 * 7 and np.isfinite(out["loglik"])
    got_b = np.array([out["items"][f"q{j}"]["b"] for j in range(6)])
    assert np.abs(got_b - b).max() < 0.35
    assert all(out["items"][f"q{j}"]["se_a"] > 0 for j in range(6))


def test_item_everyone_answered_right_is_reported_not_fatal(tmp_path, capsys):
    simulate(tmp_path / "r.csv")
    call_command("irt_calibrate", "--responses", str(tmp_path / "r.csv"), "--out", str(tmp_path / "o.json"))
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["degenerate"] == {"too-easy": "all correct"} and "too-easy" not in out["items"]
    assert "'too-easy' left out of calibration: all correct" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("person,item,correct\na,q1,1\nb,q1,maybe\n", "line 3: correct must be 0 or 1, not 'maybe'"),
        ("person,item,correct\na,q1,1\nb,q1\n", "line 3: expected 3 fields, found 2"),
        ("person,question,correct\na,q1,1\n", "line 1: the header lacks item"),
        ("person,item,correct\n", "no responses after the header"),
        ("person,item,correct\n,q1,1\n", "line 2: person and item must not be empty"),
    ],
)
def test_malformed_csv_names_the_line(tmp_path, text, message):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("irt_calibrate", "--responses", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o.json"))
    assert not (tmp_path / "o.json").exists()
