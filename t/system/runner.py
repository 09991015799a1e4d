"""Runs every t/system/test_*.py (or the ones named on the command line)
and ends with "system: N passed, N failed, N skipped".

Each file runs in a process of its own, SYSTEM_JOBS of them at a time
(default 4: the tests mostly wait on sockets and timers, and every
instance takes its own free ports and directories), the longest files
first so that the last to finish is a short one.  A file's output is
printed whole when it ends, so that the lines of two files never mix.

    runner.py                   every file, in parallel
    runner.py test_x test_y     those files
    runner.py --one test_x      one file in this process (what the
                                parallel runner starts)"""

import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SUMMARY = "system: %d passed, %d failed, %d skipped"


def run_one(names):
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromName(n) for n in names)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(SUMMARY % (passed, failed, len(result.skipped)))
    return 0 if failed == 0 else 1


def all_files():
    return sorted(f[:-3] for f in os.listdir(HERE)
                  if f.startswith("test_") and f.endswith(".py"))


def weight(name):
    """A file's expected length: its size is a fair guess."""
    try:
        return os.path.getsize(os.path.join(HERE, name + ".py"))
    except OSError:
        return 0


def parse_summary(output):
    for line in reversed(output.splitlines()):
        if line.startswith("system: "):
            parts = line.split()
            try:
                return int(parts[1]), int(parts[3]), int(parts[5])
            except (IndexError, ValueError):
                break
    return None


def run_parallel(names, jobs):
    pending = sorted(names, key=weight, reverse=True)
    running = {}
    passed = failed = skipped = 0
    broken = []
    start = time.monotonic()
    while pending or running:
        while pending and len(running) < jobs:
            name = pending.pop(0)
            # A file, not a pipe: a child never waits for the reader.
            out = tempfile.TemporaryFile()
            proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--one", name],
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)
            running[proc.pid] = (name, proc, out, time.monotonic())
        pid, _ = os.wait()
        if pid not in running:
            continue
        name, proc, out, t0 = running.pop(pid)
        proc.returncode = 0
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
        out.close()
        sys.stdout.write(output)
        counts = parse_summary(output)
        if counts is None:
            failed += 1
            broken.append(name)
            print("%s: no summary: the file crashed" % name)
        else:
            passed += counts[0]
            failed += counts[1]
            skipped += counts[2]
        print("== %s done in %.0fs" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    print("system: %d files in %.0fs with %d at a time" % (
        len(names), time.monotonic() - start, jobs))
    if broken:
        print("system: crashed: %s" % " ".join(broken))
    print(SUMMARY % (passed, failed, skipped))
    return 0 if failed == 0 else 1


def main():
    args = sys.argv[1:]
    if args[:1] == ["--one"]:
        return run_one(args[1:])
    jobs = int(os.environ.get("SYSTEM_JOBS", "4"))
    names = args or all_files()
    return run_parallel(names, max(1, jobs))


if __name__ == "__main__":
    sys.exit(main())
