import pytest
from browser_support import app_url_fixture, browser_fixture, page_fixture

from planner.catalog import load_catalog

# The browser fixtures are registered here, once: a session fixture imported into several test
# modules would start one Playwright per module, and a second sync Playwright in the same
# process fails. Every browser test module shares one server and one Chromium per worker.
__all__ = ["app_url_fixture", "browser_fixture", "page_fixture"]


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.json from the current engine output")


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")
