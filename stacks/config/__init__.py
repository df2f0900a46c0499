"""Typed stack configuration: flat Pulumi keys in, one validated ``StackConfig`` out."""

from stacks.config.base import ConfigIssue, StackConfigError
from stacks.config.stack import StackConfig, load_stack_config, parse_stack_config

__all__ = ["ConfigIssue", "StackConfig", "StackConfigError", "load_stack_config", "parse_stack_config"]
