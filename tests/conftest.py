import pytest

from planner.catalog import load_catalog


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.json from the current engine output")


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")
