"""An interface's queue interrupts, and where ``spread`` puts them.

The IRQs of a PCI NIC are the MSI/MSI-X vectors listed in its PCI function's ``msi_irqs``
directory (``/sys/class/net/IF/device`` may be the PCI function itself or, for virtio, a child of
it), or its single legacy ``irq``.  Drivers also register control vectors (virtio's ``-config``,
i40e's ``-misc``, mlx5's ``mlx5_async``): those carry no packets, so the names in
``/proc/interrupts`` are used to leave them out.

``spread`` gives queue *i* (in IRQ order) the *i*-th CPU of the device's NUMA-local CPUs
(``device/local_cpulist``) or of all online CPUs, wrapping around: one queue per core, the
layout Intel's ``set_irq_affinity`` script and ``irqbalance --policy=subset`` aim for, unlike
the seed, which pins every IRQ on the machine to CPU 0.
"""

from __future__ import annotations

import re

from wirekit.tune.host import Host, TargetProblem, Unsupported
from wirekit.tune.values import format_cpulist, parse_cpulist

#: Interrupt names of vectors that carry no packet queue.
_CONTROL = re.compile(r"(config|ctrl|control|event|async|misc|lsc|mbx|mailbox|fw|other)\b",
                      re.IGNORECASE)


def interrupt_names(host: Host) -> dict[int, str]:
    """IRQ number -> the action name (last column) from ``/proc/interrupts``."""
    names: dict[int, str] = {}
    try:
        text = host.read("proc/interrupts")
    except TargetProblem:
        return names
    for line in text.splitlines()[1:]:
        number, _, rest = line.partition(":")
        if number.strip().isdigit():
            fields = rest.split()
            names[int(number)] = fields[-1] if fields else ""
    return names


def device_dir(host: Host, iface: str) -> str:
    """``sys/...`` path of the interface's device, or Unsupported for a virtual interface."""
    link = host.path(f"sys/class/net/{iface}")
    if not link.exists():
        raise Unsupported(f"ENODEV: no interface {iface}")
    device = link / "device"
    if not device.exists():
        raise Unsupported(f"{iface} is a virtual interface: it has no IRQs")
    return host.relative(device.resolve())


def queue_irqs(host: Host, iface: str) -> list[int]:
    """The interface's queue IRQs, in ascending order."""
    start = device_dir(host, iface)
    candidates = _msi_irqs(host, start)
    if not candidates:
        raise Unsupported(f"{iface}: no MSI or legacy IRQ found under /{start}")
    names = interrupt_names(host)
    queues = [irq for irq in candidates if not _CONTROL.search(names.get(irq, ""))]
    return queues or candidates


def _msi_irqs(host: Host, start: str) -> list[int]:
    """Walk from the device up to its PCI function, collecting ``msi_irqs`` or ``irq``."""
    path = start
    for _ in range(4):
        found = [int(name) for name in host.listdir(f"{path}/msi_irqs") if name.isdigit()]
        if found:
            return sorted(found)
        legacy = host.path(f"{path}/irq")
        if legacy.is_file():
            number = legacy.read_text().strip()
            if number.isdigit() and int(number) > 0:
                return [int(number)]
        path = path.rsplit("/", 1)[0]
    return []


def candidate_cpus(host: Host, iface: str) -> list[int]:
    """The device's NUMA-local CPUs if the kernel says, else every online CPU."""
    for relative in (f"{device_dir(host, iface)}/local_cpulist",
                     "sys/devices/system/cpu/online"):
        try:
            cpus = parse_cpulist(host.read(relative))
        except (TargetProblem, ValueError):
            continue
        if cpus:
            return sorted(cpus)
    raise Unsupported("cannot tell which CPUs are online")


def spread(irqs: list[int], cpus: list[int]) -> dict[int, str]:
    """IRQ -> cpulist: one CPU per queue, round robin."""
    return {irq: format_cpulist({cpus[index % len(cpus)]}) for index, irq in enumerate(irqs)}


def irqbalance_running(host: Host) -> bool:
    """True when an ``irqbalance`` daemon runs: it would move spread IRQs again."""
    for name in host.listdir("proc"):
        if name.isdigit():
            try:
                if host.read(f"proc/{name}/comm").strip() == "irqbalance":
                    return True
            except TargetProblem:
                continue
    return False
