"""The suite's `xdist_group` marks take effect under `pytest -n 2 --dist loadgroup` (CI).

Each shared session fixture (`SHARED_SESSION_FIXTURES` in conftest.py) is built once only
when every test that uses it runs in one worker; pytest-xdist groups a test by appending
`@group` to its node id. A pytest that no longer lets it do that (9.2 did), or a conftest hook
that adds the marks after xdist has read them (it did, until it ran first), would silently build
each fixture once per worker.
"""

import pytest


@pytest.mark.xdist_group("grouping_check")
def test_grouped_tests_carry_their_group(request):
    if not request.config.getvalue("loadgroup"):
        pytest.skip("not run with --dist loadgroup")
    assert request.node.nodeid.endswith("@grouping_check"), request.node.nodeid


@pytest.fixture(scope="module")
def shared():
    return object()


def test_tests_sharing_a_module_fixture_are_grouped_by_module(request, shared):
    # conftest.py adds the group; it must run before xdist reads the marks.
    if not request.config.getvalue("loadgroup"):
        pytest.skip("not run with --dist loadgroup")
    assert request.node.nodeid.endswith("@test_xdist_groups"), request.node.nodeid
