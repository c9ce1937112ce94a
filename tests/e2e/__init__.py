"""End-to-end tests of the dashboard in the system Chromium (see conftest.py)."""
