"""Energy sources: sysfs-like sensors written by the test, the PMIC reader, integration, the paper method."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hanna_tui.device.agent import PowerSensor, energy_result, measure_idle
from hanna_tui.device.energy import HwmonSensor, PmicSensor, RaplSensor, Sampler, integrate, make_sensor, parse_energy, pmic_power
from hanna_tui.device.profiler import block_energy
from hanna_tui.errors import UserError

PMIC_OUTPUT = """\
 3V7_WL_SW_A current(0)=0.10000000A
 3V3_SYS_A current(1)=0.20000000A
 VDD_CORE_A current(7)=1.50000000A
 3V7_WL_SW_V volt(8)=3.70000000V
 3V3_SYS_V volt(9)=3.30000000V
 VDD_CORE_V volt(15)=0.80000000V
 EXT5V_V volt(24)=5.10000000V
"""


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        (folder / name).write_text(value + "\n")
    return folder


def hwmon(root: Path, index: int, files: dict[str, str]) -> Path:
    return write_files(root / "sys" / "class" / "hwmon" / f"hwmon{index}", files)


def test_hwmon_power_file_in_microwatts(tmp_path):
    hwmon(tmp_path, 0, {"name": "cpu_thermal", "temp1_input": "40000"})
    hwmon(tmp_path, 1, {"name": "ina226", "power1_input": "2500000", "curr1_input": "500", "in1_input": "5000"})
    sensor = HwmonSensor(str(tmp_path))
    assert sensor.name == "hwmon:ina226" and sensor.read() == pytest.approx(2.5)


def test_hwmon_current_times_voltage_and_ina3221_channels(tmp_path):
    hwmon(tmp_path, 0, {"name": "ina219", "curr1_input": "400", "in1_input": "5000", "in0_input": "12"})
    assert HwmonSensor(str(tmp_path)).read() == pytest.approx(2.0)
    folder = hwmon(
        tmp_path,
        1,
        {
            "name": "ina3221",
            "curr1_input": "1000",
            "in1_input": "5000",
            "curr2_input": "500",
            "in2_input": "3300",
            "curr3_input": "0",
            "in3_input": "1800",
        },
    )
    sensor = HwmonSensor(str(tmp_path), "ina3221")
    assert sensor.read() == pytest.approx(5.0 + 1.65)
    (folder / "curr1_input").write_text("2000\n")  # values are read afresh every sample
    assert sensor.read() == pytest.approx(10.0 + 1.65)
    assert HwmonSensor(str(tmp_path), "hwmon1").read() == pytest.approx(11.65)


def test_hwmon_absent_is_a_clear_error(tmp_path):
    hwmon(tmp_path, 0, {"name": "cpu_thermal"})
    with pytest.raises(RuntimeError, match="no hwmon power sensor"):
        HwmonSensor(str(tmp_path))
    with pytest.raises(RuntimeError, match="named 'ina226'"):
        make_sensor({"source": "hwmon", "device": "ina226", "sysfs_root": str(tmp_path)})


def test_rapl_counter_with_wraparound(tmp_path):
    zone = write_files(
        tmp_path / "sys" / "class" / "powercap" / "intel-rapl:0",
        {"name": "package-0", "energy_uj": "999000000", "max_energy_range_uj": "1000000000"},
    )
    write_files(tmp_path / "sys" / "class" / "powercap" / "intel-rapl:0:0", {"name": "core", "energy_uj": "5"})
    sensor = RaplSensor(str(tmp_path))
    assert sensor.kind == "counter" and sensor.name == "rapl:package-0"
    assert sensor.read() == 0.0
    (zone / "energy_uj").write_text("999500000\n")
    assert sensor.read() == pytest.approx(0.5)
    (zone / "energy_uj").write_text("1000000\n")  # wrapped past the range
    assert sensor.read() == pytest.approx(0.5 + 0.5 + 1.0)
    with pytest.raises(RuntimeError, match="no RAPL"):
        RaplSensor(str(tmp_path / "nowhere"))


def test_pmic_sums_volts_times_amps_over_rails(tmp_path):
    assert pmic_power(PMIC_OUTPUT) == pytest.approx(0.1 * 3.7 + 0.2 * 3.3 + 1.5 * 0.8)
    fake = tmp_path / "vcgencmd"
    fake.write_text("#!/bin/sh\n[ \"$1\" = pmic_read_adc ] || exit 1\ncat <<'EOF'\n" + PMIC_OUTPUT + "EOF\n")
    fake.chmod(0o755)
    sensor = PmicSensor(str(fake))
    assert sensor.read() == pytest.approx(2.23)
    with pytest.raises(RuntimeError, match="Raspberry Pi 5"):
        PmicSensor(str(tmp_path / "missing-vcgencmd"))


def test_trapezoid_integration_and_idle_subtraction():
    samples = [(0.0, 1.0), (1.0, 3.0), (2.0, 3.0)]
    assert integrate(samples, "power") == (pytest.approx(2.0 + 3.0), 2.0)
    assert integrate([(0.0, 10.0), (2.0, 14.0)], "counter") == (4.0, 2.0)
    assert integrate([(0.0, 1.0)], "power") == (0.0, 0.0)

    class Fixed(PowerSensor):
        name = "fixed"

        def read(self) -> float:
            return 3.0

    sampler = Sampler(Fixed(), 0.01)
    sampler.samples = [(0.0, 3.0), (0.5, 3.0), (1.0, 3.0)]
    result = energy_result(sampler, Fixed(), {"idle_power_w": 1.0, "idle_samples": 7}, runs=100)
    assert result["energy_j"] == pytest.approx((3.0 - 1.0) * 1.0 / 100)
    assert result["samples"] == 3 and result["idle_samples"] == 7 and result["window_s"] == 1.0


def test_sampler_thread_collects_samples_over_a_window():
    class Ramp(PowerSensor):
        name = "ramp"

        def read(self) -> float:
            return 2.0

    with Sampler(Ramp(), 0.005) as sampler:
        time.sleep(0.1)
    joules, seconds = integrate(sampler.samples, "power")
    assert len(sampler.samples) >= 5 and joules == pytest.approx(2.0 * seconds)
    idle = measure_idle(Ramp(), 0.05, 0.005)
    assert idle["idle_power_w"] == pytest.approx(2.0) and idle["idle_samples"] >= 3


def test_paper_method_typed_and_from_meter_csv(tmp_path):
    cfg = parse_energy("paper:idle=0.30,active=0.50,volts=5")
    assert cfg.paper_energy("3,2", 0.01) == pytest.approx(0.2 * 5 * 0.01)
    assert block_energy(cfg, "3,2", {"latency": {"mean": 0.01}}) == pytest.approx(0.01)
    meter = tmp_path / "meter.csv"
    meter.write_text("layer,candidate,current_a\nidle,,0.40\nmodel,,0.70\n0,k3_e1,0.45\n1,5,0.60\n")
    cfg = parse_energy(f"paper:csv={meter},volts=5.11")
    assert cfg.idle_current_a == 0.40
    assert cfg.paper_energy("0,0", 1.0) == pytest.approx(0.05 * 5.11)
    assert cfg.paper_energy("1,5", 1.0) == pytest.approx(0.20 * 5.11)
    assert cfg.paper_energy("model", 2.0) == pytest.approx(0.30 * 5.11 * 2)
    with pytest.raises(UserError, match="no active current for '2,2'"):
        cfg.paper_energy("2,2", 1.0)


@pytest.mark.parametrize(
    "text,message",
    [
        ("paper:active=0.5", "needs the idle current"),
        ("paper:idle=x", "must be a number"),
        ("paper:idle=0.1,foo=1", "unknown item"),
        ("paper:idle", "key=value"),
        ("paper:csv=/nonexistent.csv", "cannot read the meter CSV"),
        ("watts", "unknown source"),
    ],
)
def test_bad_energy_specs(text, message):
    with pytest.raises(UserError, match=message):
        parse_energy(text)


def test_sensor_sources_are_described_for_the_agent(tmp_path):
    cfg = parse_energy("hwmon:ina226", sysfs_root=str(tmp_path))
    assert cfg.on_board and cfg.agent_spec() == {
        "source": "hwmon",
        "device": "ina226",
        "sysfs_root": str(tmp_path),
        "interval_s": 0.01,
        "vcgencmd": "vcgencmd",
    }
    assert parse_energy("paper:idle=0.1,active=0.2").agent_spec() == {"source": "none"}
    assert parse_energy(None).enabled is False
