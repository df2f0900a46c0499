"""Suite-wide settings. Area fixtures live in tests/<area>/conftest.py.

``real_vllm`` (one real vLLM server per session, tests/support/vllm_fixtures.py) is suite-wide: any area may use it.
"""

pytest_plugins = ["tests.support.vllm_fixtures"]
