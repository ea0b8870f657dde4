"""Click options shared by the packet-printing commands (``read``, ``capture``).

Only click here: ``wirekit read`` must not pay for rich or anything heavier at start-up.
"""

from __future__ import annotations

import click

#: tcpdump's timestamp styles, counted (``-t`` ... ``-ttttt``; wirekit.pcap.timestamps.TimeStyle).
time_style_option = click.option(
    "-t", "time_style", count=True,
    help="Timestamp style, as tcpdump: -t none, -tt epoch seconds, -ttt since the previous "
         "packet, -tttt date and time, -ttttt since the first packet. Default: local time of "
         "day.")
#: ``-e``: summary lines start with the link-level header (``Packet.summary(link_level=True)``).
link_level_option = click.option(
    "-e", "link_level", is_flag=True,
    help="Print the link-level header first (MACs, EtherType, VLAN tags, LLC), as tcpdump -e.")
