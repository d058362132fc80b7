"""The confined kernel's seccomp filter, loaded by bubblewrap into a real process."""

import shutil
import subprocess
import sys

import pytest

from grader import seccomp

PROBE = r"""
import socket
for name, family, kind, protocol in [("unix", 1, 1, 0), ("inet", 2, 1, 0), ("netlink-route", 16, 2, 0),
                                     ("netlink-audit", 16, 2, 9), ("netlink-uevent", 16, 2, 15),
                                     ("vsock", 40, 1, 0), ("packet", 17, 2, 0), ("bluetooth", 31, 1, 0)]:
    try:
        socket.socket(family, kind, protocol).close()
        print(name, "created")
    except OSError as error:
        print(name, "refused", error.errno)
"""


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (make test installs it)")
def test_filter_allows_only_the_families_the_kernel_needs(tmp_path):
    """Under the filter, are AF_UNIX, IP and netlink-route sockets allowed and VSOCK, packet, audit refused?"""
    bpf = tmp_path / "filter.bpf"
    bpf.write_bytes(seccomp.program())
    run = subprocess.run(
        ["/bin/sh", "-c", 'exec "$@" 3<"$0"', str(bpf), "bwrap", "--seccomp", "3", "--ro-bind", "/", "/",
         "--dev", "/dev", "--proc", "/proc", "--unshare-net", "--", sys.executable, "-c", PROBE],
        capture_output=True, text=True, timeout=60)
    result = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert len(result) == 8, run.stderr
    assert {k for k, v in result.items() if v == "created"} == {"unix", "inet", "netlink-route"}
    assert all(v == "refused 97" for k, v in result.items() if k not in ("unix", "inet", "netlink-route"))


def test_filter_is_refused_for_an_unknown_machine():
    """Does an architecture without a known filter stop the sandbox instead of running unfiltered?"""
    with pytest.raises(seccomp.Unsupported, match="riscv64"):
        seccomp.program("riscv64")
