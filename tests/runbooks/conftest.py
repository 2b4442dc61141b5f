from .helpers import library  # noqa: F401 - the fixture
