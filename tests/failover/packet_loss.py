"""Random packet loss on a network device without sch_netem: an XDP program that drops a fraction
of the packets the device receives (issue 12, scenario 4, on the namespace rig).

This kernel has no sch_netem, no tc actions and no iptables, but it has BPF and generic XDP. The
program is seven hand-assembled instructions (no clang): a random number from
bpf_get_prandom_u32, its top 16 bits compared with fraction * 65536, XDP_DROP below, XDP_PASS
otherwise. It is loaded with the bpf(2) syscall through ctypes and attached in generic (SKB) mode
with an rtnetlink RTM_SETLINK carrying IFLA_XDP {IFLA_XDP_FD, IFLA_XDP_FLAGS}, sent on a netlink
socket opened inside the device's namespace (setns(2) on a short-lived thread: Python 3.11 has no
os.setns, and a socket stays in the namespace it was made in). The attachment holds the program:
it stays after this process exits, until `stop_dropping` (IFLA_XDP_FD -1) or the device goes.

Generic XDP sees each skb once: a GSO/GRO super-packet (up to 64 KB of a TCP stream on a veth) is
dropped or passed whole, as netem would. Everything the device receives is subject to it: ARP,
multicast (VRRP) and unicast alike.

    python -m tests.failover.packet_loss NETNS DEVICE 0.3     # drop 30 % of what DEVICE receives
    python -m tests.failover.packet_loss NETNS DEVICE off
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
import struct
import sys
import threading

BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}
BPF_PROG_LOAD = 5
BPF_PROG_TYPE_XDP = 6
XDP_DROP, XDP_PASS = 1, 2
XDP_FLAGS_SKB_MODE = 1 << 1  # generic XDP: the kernel runs it on the skb, whatever the driver
CLONE_NEWNET = 0x40000000

RTM_SETLINK, NLMSG_ERROR = 19, 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x1, 0x4, 0x100, 0x200
IFLA_IFNAME, IFLA_XDP, NLA_F_NESTED = 3, 43, 0x8000
IFLA_XDP_FD, IFLA_XDP_FLAGS = 1, 3
SOL_NETLINK, NETLINK_EXT_ACK, NLMSGERR_ATTR_MSG = 270, 11, 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class LossError(OSError):
    """The kernel refused: its errno, and the verifier's log or netlink's message when it gave one."""


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def program(fraction: float) -> bytes:
    """The XDP program dropping `fraction` (0-1) of the packets, in 1/65536 steps."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"a fraction of the packets, 0 to 1: {fraction}")
    threshold = round(fraction * 65536)
    return b"".join([
        _insn(0x85, imm=7),                        # call bpf_get_prandom_u32 (r0: 32 random bits)
        _insn(0x77, dst=0, imm=16),                # r0 >>= 16: 0..65535
        _insn(0xa5, dst=0, off=2, imm=threshold),  # if r0 < threshold goto drop
        _insn(0xb7, dst=0, imm=XDP_PASS), _insn(0x95),
        _insn(0xb7, dst=0, imm=XDP_DROP), _insn(0x95),  # drop:
    ])


def load(fraction: float) -> int:
    """Loads the program; its file descriptor (the caller closes it once it is attached)."""
    return load_xdp(program(fraction), f"loss{round(fraction * 100)}")


def load_xdp(code: bytes, name: str) -> int:
    """Loads `code` as an XDP program named `name`; its file descriptor. LossError with the
    verifier's log when the kernel refuses it."""
    number = BPF_SYSCALL.get(platform.machine())
    if number is None:
        raise LossError(errno.ENOSYS, f"bpf(2)'s syscall number on {platform.machine()} is not known here")
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    # union bpf_attr, BPF_PROG_LOAD: prog_type, insn_cnt, insns, license, log_level, log_size,
    # log_buf, kern_version, prog_flags, prog_name[16]; the rest of the 128 bytes zero
    attr = struct.pack("=IIQQIIQII16s", BPF_PROG_TYPE_XDP, len(code) // 8, ctypes.addressof(insns),
                       ctypes.addressof(license_), 1, len(log), ctypes.addressof(log), 0, 0,
                       name.encode()[:15])
    attr_buffer = ctypes.create_string_buffer(attr.ljust(128, b"\0"), 128)
    fd = _libc.syscall(number, BPF_PROG_LOAD, attr_buffer, 128)
    if fd < 0:
        err = ctypes.get_errno()
        verifier = log.value.decode(errors="replace").strip()
        hint = " (loading BPF programs needs root or CAP_BPF)" if err == errno.EPERM else ""
        raise LossError(err, f"the kernel refused the XDP program: {os.strerror(err)}{hint}"
                             + (f"; verifier log:\n{verifier}" if verifier else ""))
    return fd


def socket_in(netns: str | None, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket made inside the named network namespace (None: this process's): a thread of its own
    enters the namespace, makes it and ends; the socket keeps the namespace, the process does not move."""
    if netns is None:
        return socket.socket(family, kind, proto)
    made: list = []

    def enter_and_make() -> None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into network namespace {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            made.append(socket.socket(family, kind, proto))
        except BaseException as e:  # handed to the caller
            made.append(e)

    thread = threading.Thread(target=enter_and_make, name=f"netns-{netns}")
    thread.start()
    thread.join()
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


def _attribute(kind: int, payload: bytes) -> bytes:
    header = struct.pack("=HH", 4 + len(payload), kind)
    return header + payload + b"\0" * (-len(payload) % 4)


def set_xdp(netns: str | None, device: str, fd: int) -> None:
    """RTM_SETLINK on `device` in `netns`: IFLA_XDP {fd (-1: none), generic mode}; raises LossError
    with the kernel's errno and extended-ack message when it refuses."""
    xdp = _attribute(IFLA_XDP_FD, struct.pack("=i", fd)) + _attribute(IFLA_XDP_FLAGS, struct.pack("=I", XDP_FLAGS_SKB_MODE))
    body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)  # ifinfomsg: index 0, the name below
    body += _attribute(IFLA_IFNAME, device.encode() + b"\0") + _attribute(IFLA_XDP | NLA_F_NESTED, xdp)
    message = struct.pack("=IHHII", 16 + len(body), RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body
    with socket_in(netns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        sock.bind((0, 0))
        sock.sendall(message)
        answer = sock.recv(65536)
    _, kind, flags, _, _ = struct.unpack_from("=IHHII", answer)
    if kind != NLMSG_ERROR:
        raise LossError(errno.EPROTO, f"unexpected netlink answer type {kind} to RTM_SETLINK")
    (error,) = struct.unpack_from("=i", answer, 16)
    if error == 0:
        return
    said = ""
    if flags & NLM_F_ACK_TLVS:  # the kernel's extended ack: a message saying why
        at = 20 + (16 if flags & NLM_F_CAPPED else struct.unpack_from("=I", answer, 20)[0])
        while at + 4 <= len(answer):
            length, attr = struct.unpack_from("=HH", answer, at)
            if length < 4:
                break
            if attr == NLMSGERR_ATTR_MSG:
                said = answer[at + 4:at + length].rstrip(b"\0").decode(errors="replace")
            at += (length + 3) & ~3
    where = f"{device} in namespace {netns}" if netns else device
    raise LossError(-error, f"the kernel refused XDP on {where}: {os.strerror(-error)}" + (f" ({said})" if said else ""))


def drop(netns: str | None, device: str, fraction: float) -> None:
    """From now on `device` (in `netns`) drops `fraction` of the packets it receives (replacing any
    fraction set before), until stop_dropping."""
    fd = load(fraction)
    try:
        set_xdp(netns, device, fd)
    finally:
        os.close(fd)  # the attachment holds the program now


def stop_dropping(netns: str | None, device: str) -> None:
    set_xdp(netns, device, -1)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-2:], file=sys.stderr)
        return 2
    netns, device, fraction = argv
    if fraction == "off":
        stop_dropping(netns, device)
    else:
        drop(netns, device, float(fraction))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
