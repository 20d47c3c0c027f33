"""The explore lab test's own instance: its first port, shifted per xdist worker by tests/lab/conftest.py."""

EXPLORE_TEST_PORT = ("LAB_EXPLORE_TEST_PORT", 19050)
