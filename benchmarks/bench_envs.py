"""What a job's software environment costs per job.

- ``container:``: N trivial shell jobs in a busybox image (made here with
  ``podman import``, as the tests do) against the same jobs without a
  container, at ``-j 2``; the difference per job is the runtime's start cost.
- ``venv:`` that exists already: N trivial shell jobs and N ``run:`` jobs
  with a venv against the same without one (the first, untimed run builds it).

    CONTAINERS_CONF=... python benchmarks/bench_envs.py [--jobs 200] [--venv-spec FILE]

Needs podman (and, on a machine like the test machines, the containers.conf
that scripts/test.sh writes) and the network for the venv (PyPI).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

OUTFLOW = str(Path(sys.executable).with_name("outflow"))
IMAGE = "localhost/outflow-bench-busybox:1"
APPLETS = ("sh", "echo", "cat", "true")

SHELL = """\
config:
    items: list = {items}

task t(i: int):
    output: o = "out/{{i}}.txt"
{directive}    shell: "echo {{i}} > {{output.o}}"

workflow all:
    map(items -> i) {{ t }}
"""

PYTHON = """\
config:
    items: list = {items}

task t(i: int) -> (j: int):
{directive}    run:
        return i + 1

workflow all:
    map(items -> i) {{ t }}
"""


def make_image() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp, "rootfs.tar")
        with tarfile.open(tar, "w") as out:
            for folder in ("bin", "tmp"):
                info = tarfile.TarInfo(folder)
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if folder == "tmp" else 0o755
                out.addfile(info)
            out.add("/bin/busybox", "bin/busybox")
            for applet in APPLETS:
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type = tarfile.SYMTYPE
                link.linkname = "busybox"
                out.addfile(link)
        subprocess.run(
            ["podman", "import", "-q", str(tar), IMAGE], check=True, stdout=subprocess.DEVNULL
        )


def timed_run(
    root: Path, text: str, files: dict[str, str], runs: int = 1, keep: bool = False
) -> float:
    """Seconds of the best of ``runs`` full runs of a fresh project (with
    ``keep``, .outflow/envs is kept between them: only the results go)."""
    best = float("inf")
    for _ in range(runs):
        if root.exists():
            for child in root.iterdir():
                if child.name == ".outflow" and keep:
                    for sub in child.iterdir():
                        if sub.name != "envs":
                            shutil.rmtree(sub) if sub.is_dir() else sub.unlink()
                    continue
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        root.mkdir(parents=True, exist_ok=True)
        (root / "Outflowfile").write_text(text)
        for name, content in files.items():
            Path(root, name).parent.mkdir(parents=True, exist_ok=True)
            Path(root, name).write_text(content)
        start = time.perf_counter()
        subprocess.run([OUTFLOW, "-j", "2", "-q"], cwd=root, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def podman_loop(root: Path, n: int) -> float:
    """The baseline: the same jobs as plain ``podman run --rm`` calls, two at
    a time, with the project mounted and the caller's uid (as outflow runs
    them): what the runtime's start costs by itself."""
    import os

    shutil.rmtree(root, ignore_errors=True)
    (root / "out").mkdir(parents=True)
    base = ["podman", "run", "--rm", "--cpus", "1", "-v", f"{root}:{root}", "-w", str(root),
            "--user", f"{os.getuid()}:{os.getgid()}", IMAGE, "sh", "-c"]
    start = time.perf_counter()
    running: list[subprocess.Popen[bytes]] = []
    for i in range(n):
        if len(running) == 2:
            running.pop(0).wait()
        running.append(subprocess.Popen([*base, f"echo {i} > out/{i}.txt"]))
    for proc in running:
        proc.wait()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--venv-spec", default="termcolor==2.3.0\n")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-container", action="store_true", help="time the venv only")
    args = parser.parse_args()
    n = args.jobs
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        print(f"{n} jobs at -j 2, best of {args.runs} runs\n")
        if shutil.which("podman") and not args.no_container:
            make_image()
            plain = timed_run(
                base / "plain", SHELL.format(items=list(range(n)), directive=""), {}, args.runs
            )
            boxed = timed_run(
                base / "box",
                SHELL.format(items=list(range(n)), directive=f'    container: "{IMAGE}"\n'),
                {},
                args.runs,
            )
            by_hand = podman_loop(base / "loop", n)
            print(f"shell, no container   {plain:7.2f} s  {plain / n * 1000:7.1f} ms/job")
            print(f"shell, busybox image  {boxed:7.2f} s  {boxed / n * 1000:7.1f} ms/job")
            print(f"plain podman run loop {by_hand:7.2f} s  {by_hand / n * 1000:7.1f} ms/job")
            print(f"  the container adds  {(boxed - plain) / n * 1000:7.1f} ms/job; "
                  f"outflow in a container / podman by hand: x{boxed / by_hand:.2f}\n")
            subprocess.run(
                ["podman", "rmi", "-f", IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        elif not args.no_container:
            print("podman not found: no container figures\n")
        spec = {"envs/spec.txt": args.venv_spec}
        venv = '    venv: "envs/spec.txt"\n'
        for kind, template in (("shell", SHELL), ("run:", PYTHON)):
            plain = timed_run(
                base / f"p-{kind.rstrip(':')}",
                template.format(items=list(range(n)), directive=""),
                spec,
                args.runs,
            )
            root = base / f"v-{kind.rstrip(':')}"
            timed_run(
                root, template.format(items=list(range(n)), directive=venv), spec, 1
            )  # builds the venv
            inside = timed_run(
                root,
                template.format(items=list(range(n)), directive=venv),
                spec,
                args.runs,
                keep=True,
            )
            print(f"{kind:5} without venv    {plain:7.2f} s  {plain / n * 1000:7.1f} ms/job")
            print(f"{kind:5} existing venv   {inside:7.2f} s  {inside / n * 1000:7.1f} ms/job")
            print(f"  the venv adds       {(inside - plain) / n * 1000:7.1f} ms/job\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
