"""hanna-tui knobs: the paper's pre-visualisation of the loss knobs on a profile."""

from __future__ import annotations

from ..cost import CostModel, Knobs, knob_readout
from ..profiles import load_profile
from .common import add_knob_args, fmt_num, print_json


def register(sub) -> None:
    p = sub.add_parser("knobs", help="pre-visualise knobs: LAT0, ENER0, vLAT, vENER and dominance")
    p.add_argument("--profile", default="profiles/rpi3b-hanna.toml", help="device profile TOML")
    add_knob_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args) -> int:
    profile = load_profile(args.profile)
    knobs = Knobs(args.alpha, args.beta, args.gamma, args.delta)
    readout = knob_readout(CostModel(profile), knobs)
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
        f"knobs    alpha={r['alpha']:g} beta={r['beta']:g} gamma={r['gamma']:g} delta={r['delta']:g}",
        f"LAT0     {fmt_num(r['lat0'], 's')}   range {fmt_num(r['lat_min'], 's')} .. {fmt_num(r['lat_max'], 's')}",
        f"ENER0    {fmt_num(r['ener0'], 'J')}   range {fmt_num(r['ener_min'], 'J')} .. {fmt_num(r['ener_max'], 'J')}",
        f"vLAT     {fmt_num(r['vlat'])}   = alpha * LAT0^beta",
        f"vENER    {fmt_num(r['vener'])}   = gamma * ENER0^delta",
        f"energy dominance vENER/vLAT = {dom(r['energy_dominance'])}   latency dominance vLAT/vENER = {dom(r['latency_dominance'])}",
        f"verdict  {r['dominant']}-dominant" if r["dominant"] != "none" else "verdict  no cost term (alpha = gamma = 0)",
    ]
    return "\n".join(lines)
