"""README.md's accuracy and model-card tables are what the results files and the card say."""

import subprocess
import sys

from conftest import REPO_ROOT

TABLES = REPO_ROOT / "benchmarks" / "tables.py"


def test_readme_tables_match_the_results_files():
    result = subprocess.run([sys.executable, str(TABLES), "--check"], capture_output=True,
                            text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr


def test_every_table_marker_is_filled():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("model-card", "h100-224px", "cpu-seed-study"):
        start, stop = f"<!-- table:{name} -->", f"<!-- /table:{name} -->"
        assert start in readme and stop in readme, name
        block = readme.split(start, 1)[1].split(stop, 1)[0]
        # A caption line and a table with a header, a rule and at least two rows.
        assert sum(line.startswith("|") for line in block.splitlines()) >= 4, name
