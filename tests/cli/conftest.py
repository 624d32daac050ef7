"""The command runner ``cli`` is the suite-wide fixture in ``tests/conftest.py``."""
