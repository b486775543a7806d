"""hanna-tui knobs: the paper's pre-visualisation of the loss knobs on a profile."""

from __future__ import annotations

import sys

from .. import fmt
from ..cost import CostModel, knob_readout
from ..profiles import load_profile
from .common import add_knob_args, knobs_from_args, print_json


def register(sub) -> None:
    p = sub.add_parser("knobs", help="pre-visualise knobs: LAT0, ENER0, vLAT, vENER and dominance")
    p.add_argument(
        "--profile",
        default="profiles/rpi3b-hanna.toml",
        help="device profile: a TOML path, or a name looked up in $HANNA_PROFILES, ~/.config/hanna-tui/profiles, ./profiles, the shipped ones",
    )
    add_knob_args(p, form=True)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args) -> int:
    profile = load_profile(args.profile)
    readout = knob_readout(CostModel(profile), knobs_from_args(args))
    for warning in readout["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print_json(readout)
        return 0
    print(render_text(readout))
    return 0


def render_text(r: dict) -> str:
    lines = [
        f"profile  {r['profile']}  (device {r['device']}, space {r['space']})",
        f"knobs    alpha={r['alpha']:g} beta={r['beta']:g} gamma={r['gamma']:g} delta={r['delta']:g}  ({r['form']})",
        f"LAT0     {fmt.latency(r['lat0'])}   range {fmt.latency(r['lat_min'])} .. {fmt.latency(r['lat_max'])}",
        f"ENER0    {fmt.energy(r['ener0'])}   range {fmt.energy(r['ener_min'])} .. {fmt.energy(r['ener_max'])}"
        if r["ener0"] is not None
        else "ENER0    none (the profile has no energy table)",
        *_term_lines(r),
        f"energy dominance vENER/vLAT = {fmt.dominance(r['energy_dominance'])}   latency dominance vLAT/vENER = {fmt.dominance(r['latency_dominance'])}",
        f"verdict  {r['verdict']}",
    ]
    return "\n".join(lines)


def _term_lines(r: dict) -> list[str]:
    if r["form"] == "multiplicative":
        return [
            f"vLAT     {fmt.num(r['vlat'])}   = pull of alpha * log(1 + LAT0_ms)^beta (d log / d log LAT0)",
            f"vENER    {fmt.num(r['vener'])}   = pull of gamma * log(1 + ENER0_mJ)^delta (d log / d log ENER0)",
        ]
    return [f"vLAT     {fmt.num(r['vlat'])}   = alpha * LAT0^beta", f"vENER    {fmt.num(r['vener'])}   = gamma * ENER0^delta"]
