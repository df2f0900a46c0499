"""The rules, one module per concern; ``infra.policy.catalog`` lists them."""
