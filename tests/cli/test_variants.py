"""examples/variants (issue 18, item 5): the Snakemake tutorial's pipeline
with real samtools and bcftools, on data the example makes. One map passes
both the sorted BAMs and their indexes on to the call."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from outflowtest import outflow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "variants"
SAMPLES = ("A", "B", "C")


@pytest.fixture
def variants(tmp_path: Path) -> Path:
    missing = [tool for tool in ("samtools", "bcftools") if shutil.which(tool) is None]
    if missing:
        how = f"{' and '.join(missing)} not installed; scripts/test.sh installs them as root"
        if os.environ.get("CI"):
            pytest.fail(how)
        pytest.skip(how)
    dest = tmp_path / "variants"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".outflow"))
    return dest


def ran(done: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(re.findall(r"^\[\d+/\d+\] (.+?)  \d", done.stdout, re.M))


def test_variants_calls_each_samples_mutations(variants: Path) -> None:
    p = variants
    done = outflow(p, "-j", "2")
    assert "16 ran, 0 up to date" in done.stdout
    # samtools sorted what the simulation wrote shuffled, and indexed it.
    view = subprocess.run(["samtools", "view", str(p / "sorted_reads/B.bam")],
                          capture_output=True, text=True, check=True).stdout
    starts = [int(line.split("\t")[3]) for line in view.splitlines()]
    assert starts == sorted(starts) and len(starts) == 650
    assert (p / "sorted_reads/B.bam.bai").stat().st_size > 0
    # Four homozygous mutations per sample, each called in its sample only.
    vcf = (p / "calls/all.vcf").read_text().splitlines()
    assert [line for line in vcf if line.startswith("#CHROM")][0].split("\t")[9:] == list(SAMPLES)
    calls = [line.split("\t") for line in vcf if not line.startswith("#")]
    assert len(calls) == 12
    owners = [[g.split(":")[0] for g in call[9:]].index("1/1") for call in calls]
    assert sorted(owners) == [0] * 4 + [1] * 4 + [2] * 4
    summary = (p / "plots/quals.tsv").read_text().splitlines()
    assert summary[0] == "pos\tref\talt\tqual\tpass"
    assert [row.split("\t")[0] for row in summary[1:]] == [call[1] for call in calls]
    assert all(row.endswith("\tTrue") for row in summary[1:])
    # A second run has nothing to do.
    assert "0 ran, 16 up to date" in outflow(p).stdout


def test_a_file_in_the_map_builds_one_samples_chain(variants: Path) -> None:
    p = variants
    assert ran(outflow(p, "sorted_reads/B.bam.bai")) == [
        "bam sample=B", "genome", "samtools_index sample=B", "samtools_sort sample=B",
        "simulate sample=B",
    ]
    assert sorted(q.name for q in (p / "sorted_reads").iterdir()) == ["B.bam", "B.bam.bai"]
    assert not (p / "calls").exists()
