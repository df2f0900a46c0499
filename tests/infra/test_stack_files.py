"""The render's front door: a stack file that is not valid YAML, or a key under a misspelt namespace, fails with the
file, the place and the fix, and exit status 2 (in-process through the CLI's main: no render is reached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.render.__main__ import main
from tests.infra.rendering import ROOT
from tests.infra.stack_values import AWS_DEV, issues_of


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    return tmp_path


def render(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["--stack", "broken", "--project-dir", str(project), "--out", str(project / "out")])
    return status, capsys.readouterr().err


def test_a_yaml_syntax_error_names_the_file_line_and_column(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "Pulumi.broken.yaml").write_text(
        "config:\n  helpline:chatHost: [chat.example.com\n  helpline:cloud: aws\n"
    )
    status, err = render(project, capsys)
    assert status == 2
    assert err.startswith("render broken: Pulumi.broken.yaml line 3, column 17: invalid YAML: ")
    assert "Traceback" not in err
    assert not (project / "out").exists()


def test_keys_under_a_misspelt_namespace_are_refused_all_at_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "Pulumi.broken.yaml").write_text(
        "config:\n  helplin:chatHost: chat.example.com\n  helpine:cloud: gcp\n  aws:region: us-east-1\n"
    )
    status, err = render(project, capsys)
    assert status == 2
    assert err.splitlines() == [
        "render broken: Pulumi.broken.yaml: helplin:chatHost: unknown config namespace 'helplin'; did you mean "
        "helpline:chatHost?",
        "Pulumi.broken.yaml: helpine:cloud: unknown config namespace 'helpine'; did you mean helpline:cloud?",
    ]


def test_a_type_error_no_longer_hides_the_cross_key_rules() -> None:
    """One run lists the type error, the missing region and min > max (they used to come in three rounds)."""
    values = {k: v for k, v in AWS_DEV.items() if k != "awsRegion"}
    found = issues_of({**values, "systemPoolMaxNodes": "many", "gpuPoolMinNodes": "3", "gpuPoolMaxNodes": "2"})
    assert [issue.split(" = ")[0] for issue in found] == [
        "helpline:systemPoolMaxNodes",
        "helpline:awsRegion",
        "helpline:gpuPoolMaxNodes",
    ], found
