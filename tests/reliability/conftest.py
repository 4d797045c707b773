"""Print the fuzz suite's totals (cases, correct results, clean errors) at the end of a run."""
import sys


def pytest_terminal_summary(terminalreporter):
    fuzz = sys.modules.get("test_fuzz") or sys.modules.get("tests.reliability.test_fuzz")
    if fuzz is not None and fuzz.TOTALS:
        terminalreporter.write_line(fuzz.totals_line())
