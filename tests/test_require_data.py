"""AUDIOKIT_REQUIRE_DATA=1 (set by .ci/run) turns a data skip into a failure."""

from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()


def test_skips_fail_when_data_is_required(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_data="import pytest\n\ndef test_needs_data():\n    pytest.skip('needs the Debian package x')\n",
                        test_extra="import pytest\npytest.importorskip('no_such_extra_module')\n\ndef test_x():\n    pass\n")
    monkeypatch.setenv("AUDIOKIT_REQUIRE_DATA", "1")
    required = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--continue-on-collection-errors")
    required.assert_outcomes(failed=1, errors=1)
    assert "needs the Debian package x" in required.stdout.str()
    monkeypatch.delenv("AUDIOKIT_REQUIRE_DATA")
    relaxed = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    relaxed.assert_outcomes(skipped=2)
