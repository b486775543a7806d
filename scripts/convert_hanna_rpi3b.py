"""Convert the HANNA authors' Raspberry Pi 3B tables into profiles/rpi3b-hanna.toml (values unchanged).

Usage: python scripts/convert_hanna_rpi3b.py ../shared/reference/hanna-rpi3b profiles/rpi3b-hanna.toml
"""

from __future__ import annotations

import sys
from pathlib import Path

from hanna_tui.profiles import FORMAT, DeviceProfile, LookupTable, Runtime, load_profile, save_profile

SOURCE = (
    "hpnair/18663_Project_FBNet, folder hanna_pytorch/, commit 39a665603e30d83d5997ad78c96a4aa900ba2814 "
    "(MIT License, (c) 2019 Harideep Nair); paper: Srinivas, Nair, Vidyasagar, 'Hardware Aware Neural "
    "Network Architectures (using FBNet)', arXiv 1906.07214"
)


def read_table(path: Path) -> list[list[float]]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [[float(v) for v in row] for row in rows]


def main(src: str, out: str) -> None:
    folder = Path(src)
    profile = DeviceProfile(
        path=out,
        device={
            "name": "rpi3b",
            "description": "Raspberry Pi 3 Model B (measured by the HANNA authors)",
            "board": "Raspberry Pi 3 Model B",
            "cpu": "Broadcom BCM2837, 4x Cortex-A53 @ 1.2 GHz",
        },
        space_name="fbnet-cifar10",
        input_shape=[1, 3, 32, 32],
        width_mult=1.0,
        num_classes=10,
        runtime=Runtime("torch", "fp32", 0, "eager"),
        latency=LookupTable("s", read_table(folder / "rpi_speed.txt"), "latency of one block forward (rpi_speed.txt)"),
        energy=LookupTable("J", read_table(folder / "new_rpi_energy.txt"), "energy of one block forward (new_rpi_energy.txt)"),
        extra={
            "power": LookupTable(
                "W",
                read_table(folder / "rpi_power.txt"),
                "dynamic power while the block ran: 5.11 V x (current - idle current), 0.01 A USB meter (rpi_power.txt); not used by the search",
            )
        },
        measurement={
            "method": "authors' PyTorch timing of each candidate block on the board; energy from a hand-held USB current meter",
            "energy_method": "(active current - idle current) x 5.11 V x block latency",
            "date": "2019",
        },
        provenance={
            "source": SOURCE,
            "files": "rpi_speed.txt (latency, s), new_rpi_energy.txt (energy, J), rpi_power.txt (power, W)",
            "converted_by": "scripts/convert_hanna_rpi3b.py",
            "runtime": "PyTorch (eager, float32) on the board; version and thread count not stated by the authors (threads = 0: torch's default)",
            "quirks": (
                "skip latencies (76-128 ms for an identity) are implausibly large; energy currents are close to idle and "
                "quantized at 0.01 A; group-conv columns (k3_e1_g2, k5_e1_g2) are 10-40x cheaper in energy in layers 0-12; "
                "padded cells of 8-candidate layers hold the authors' values and are ignored"
            ),
        },
    )
    header = (
        f"Device profile ({FORMAT}): Raspberry Pi 3B lookup tables published with the HANNA paper.\n"
        f"Source: {SOURCE}.\nValues copied unchanged. Rows: the 22 searchable layers; columns: "
        "k3_e1 k3_e1_g2 k3_e3 k3_e6 k5_e1 k5_e1_g2 k5_e3 k5_e6 skip."
    )
    save_profile(profile, out, header)
    load_profile(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
