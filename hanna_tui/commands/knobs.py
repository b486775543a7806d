"""hanna-tui knobs: the paper's pre-visualisation of the loss knobs on a profile."""

from __future__ import annotations

import sys

from ..cost import CostModel, knob_readout
from ..profiles import load_profile
from .common import add_knob_args, fmt_num, knobs_from_args, print_json


def register(sub) -> None:
    p = sub.add_parser("knobs", help="pre-visualise knobs: LAT0, ENER0, vLAT, vENER and dominance")
    p.add_argument("--profile", default="profiles/rpi3b-hanna.toml", help="device profile TOML")
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
    def dom(v):
        return "inf" if v is None else f"{v:.3f}"

    lines = [
        f"profile  {r['profile']}  (device {r['device']}, space {r['space']})",
        f"knobs    alpha={r['alpha']:g} beta={r['beta']:g} gamma={r['gamma']:g} delta={r['delta']:g}  ({r['form']})",
        f"LAT0     {fmt_num(r['lat0'], 's')}   range {fmt_num(r['lat_min'], 's')} .. {fmt_num(r['lat_max'], 's')}",
        f"ENER0    {fmt_num(r['ener0'], 'J')}   range {fmt_num(r['ener_min'], 'J')} .. {fmt_num(r['ener_max'], 'J')}",
        *_term_lines(r),
        f"energy dominance vENER/vLAT = {dom(r['energy_dominance'])}   latency dominance vLAT/vENER = {dom(r['latency_dominance'])}",
        f"verdict  {r['verdict']}",
    ]
    return "\n".join(lines)


def _term_lines(r: dict) -> list[str]:
    if r["form"] == "multiplicative":
        return [
            f"vLAT     {fmt_num(r['vlat'])}   = pull of alpha * log(1 + LAT0_ms)^beta (d log / d log LAT0)",
            f"vENER    {fmt_num(r['vener'])}   = pull of gamma * log(1 + ENER0_mJ)^delta (d log / d log ENER0)",
        ]
    return [f"vLAT     {fmt_num(r['vlat'])}   = alpha * LAT0^beta", f"vENER    {fmt_num(r['vener'])}   = gamma * ENER0^delta"]
