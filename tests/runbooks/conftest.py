from tests.servers.s3 import s3_server  # noqa: F401 - real servers, started once per session
from tests.servers.sshd import sshd_server  # noqa: F401

from .helpers import library  # noqa: F401 - the fixture
