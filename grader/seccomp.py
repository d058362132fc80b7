"""A seccomp filter for the confined kernel: Unix-domain and IP sockets only.

The sandbox's network namespace has no interface, so IP sockets reach nothing
(the loopback is down); but a socket of another family (AF_NETLINK, AF_VSOCK,
AF_PACKET, Bluetooth...) reaches the host kernel or other machines by roads the
network namespace does not cover. The kernel needs AF_UNIX (ZeroMQ over ipc,
asyncio's self-pipe), AF_INET and AF_INET6 (ipykernel binds a pipe to
127.0.0.1, which fails here harmlessly) and AF_NETLINK with NETLINK_ROUTE only
(ZeroMQ's address resolver lists the interfaces of the sandbox's own empty
network namespace, and aborts the process without it). The filter lets socket()
and socketpair() create those and refuses every other family, and every other
netlink protocol (audit, uevent...), with EAFNOSUPPORT. io_uring can create sockets without calling socket(), so its
three system calls are refused too, and so is every system call made through
another ABI than the machine's own (x32, or 32-bit calls on x86-64), whose
numbers the filter does not check.

The filter is a classic BPF program, as bubblewrap's `--seccomp FD` reads it
(no libseccomp needed); :func:`program` returns its bytes.
"""

import errno
import platform
import socket
import struct

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_NR, _ARCH, _ARG0, _ARG2 = 0, 4, 16, 32  # byte offsets (an argument's low 32 bits, little-endian)
_LD_W_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000

# machine -> (audit arch, socket, socketpair, first io_uring call, syscalls at or above this are refused)
_MACHINES = {
    "x86_64": (0xC000003E, 41, 53, 425, 0x40000000),  # x32 calls carry bit 30
    "aarch64": (0xC00000B7, 198, 199, 425, None),
}
IO_URING_CALLS = 3  # io_uring_setup, io_uring_enter, io_uring_register
ALLOWED_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6)
NETLINK_ROUTE = 0  # the one netlink protocol allowed


class Unsupported(RuntimeError):
    """No filter is known for this machine's architecture."""


def _assemble(code):
    """Turn [("label", name) | (op, k, jump_true, jump_false)] into BPF bytes, resolving labels."""
    labels, at = {}, 0
    for item in code:
        if item[0] == "label":
            labels[item[1]] = at
        else:
            at += 1
    out, at = [], 0
    for item in code:
        if item[0] == "label":
            continue
        op, k, true, false = (item + (None, None))[:4]
        jt = labels[true] - at - 1 if isinstance(true, str) else 0
        jf = labels[false] - at - 1 if isinstance(false, str) else 0
        out.append(struct.pack("<HBBI", op, jt, jf, k))
        at += 1
    return b"".join(out)


def program(machine=None):
    """Return the filter's BPF program for `machine` (default: this one), as bytes."""
    machine = machine or platform.machine()
    if machine not in _MACHINES:
        raise Unsupported(f"no seccomp filter for the {machine} architecture "
                          f"(known: {', '.join(_MACHINES)})")
    arch, sock, pair, uring, abi_bit = _MACHINES[machine]
    code = [
        (_LD_W_ABS, _ARCH), (_JEQ, arch, "native", "refuse_abi"),
        ("label", "native"), (_LD_W_ABS, _NR),
    ]
    if abi_bit is not None:
        code += [(_JGE, abi_bit, "refuse_abi", "known_abi"), ("label", "known_abi")]
    code += [
        (_JEQ, sock, "family", "not_socket"), ("label", "not_socket"),
        (_JEQ, pair, "family", "not_pair"), ("label", "not_pair"),
        (_JGE, uring, "maybe_uring", "allow"), ("label", "maybe_uring"),
        (_JGE, uring + IO_URING_CALLS, "allow", "refuse_call"),
        ("label", "family"), (_LD_W_ABS, _ARG0),
    ]
    for index, family in enumerate(ALLOWED_FAMILIES):
        code += [(_JEQ, family, "allow", f"next{index}"), ("label", f"next{index}")]
    code += [
        (_JEQ, socket.AF_NETLINK, "netlink", "refuse_family"),
        ("label", "netlink"), (_LD_W_ABS, _ARG2),
        (_JEQ, NETLINK_ROUTE, "allow", "refuse_family"),
        ("label", "refuse_family"), (_RET, _ERRNO | errno.EAFNOSUPPORT),
        ("label", "refuse_call"), (_RET, _ERRNO | errno.EPERM),
        ("label", "refuse_abi"), (_RET, _ERRNO | errno.ENOSYS),
        ("label", "allow"), (_RET, _ALLOW),
    ]
    return _assemble(code)
