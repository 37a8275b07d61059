"""docs/isa.md's instruction reference is exactly what trnx-isa-doc prints from
the instruction table (regenerate with scripts/update-isa-doc.sh)."""
import subprocess

from conftest import BUILD_DIR


def test_isa_reference_matches_the_instruction_table(source_dir):
    doc = (source_dir / "docs" / "isa.md").read_text()
    begin, end = "<!-- BEGIN GENERATED: trnx-isa-doc -->\n", "<!-- END GENERATED: trnx-isa-doc -->"
    assert begin in doc and end in doc
    committed = doc.split(begin, 1)[1].split(end, 1)[0]
    generated = subprocess.run([str(BUILD_DIR / "isa" / "trnx-isa-doc")], capture_output=True, text=True,
                               check=True).stdout
    assert committed == generated, "docs/isa.md is stale: run scripts/update-isa-doc.sh"
