"""Simulated BLE peripherals built on bumble, for tests, demos and load (no radio needed)."""

from device_agent.sim.blood_pressure import SimulatedBloodPressureMonitor
from device_agent.sim.buttons import SimulatedBthomeButton, SimulatedItagButton
from device_agent.sim.glucose import SimulatedGlucoseMeter
from device_agent.sim.home import SimulatedHome, demo_home
from device_agent.sim.oximeter import SimulatedBerryMedOximeter, SimulatedPlxOximeter
from device_agent.sim.peripheral import SimulatedPeripheral

__all__ = [
    "SimulatedBerryMedOximeter",
    "SimulatedBloodPressureMonitor",
    "SimulatedBthomeButton",
    "SimulatedGlucoseMeter",
    "SimulatedHome",
    "SimulatedItagButton",
    "SimulatedPeripheral",
    "SimulatedPlxOximeter",
    "demo_home",
]
