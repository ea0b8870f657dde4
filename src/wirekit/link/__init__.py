"""The kernel boundary: capabilities, interfaces (netlink, ethtool), packet sockets, batched I/O.

Only this package (and the I/O adapters above it) talks to the kernel; the codec, the pcap
readers and the protocol core never do.
"""
