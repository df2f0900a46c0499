"""Suite-wide settings. Area fixtures live in tests/<area>/conftest.py."""
