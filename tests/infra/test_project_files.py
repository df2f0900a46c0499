"""Pulumi.yaml is valid, generated from the config models, and documented in the README."""

from __future__ import annotations

import json

import jsonschema
import yaml

from stacks.config import project_file
from tests.infra.rendering import ROOT
from tests.support.shared_data import shared_file


def test_pulumi_yaml_matches_the_schemastore_schema() -> None:
    schema = json.loads(shared_file("json-schemas", "pulumi.json").read_text())
    jsonschema.validate(yaml.safe_load((ROOT / "Pulumi.yaml").read_text()), schema)


def test_pulumi_yaml_and_readme_table_are_generated_from_the_models() -> None:
    assert project_file.main([]) == 0, "run `make config-docs`"


def test_every_declared_key_has_a_default_so_no_stack_is_forced_to_set_it() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert all("default" in declaration for declaration in project["config"].values())
