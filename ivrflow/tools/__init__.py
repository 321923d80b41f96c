"""The tools stage: what engineers run on a flow without a phone line.

`testing.Call` (a synchronous caller on a virtual clock), the simulator, scenario tests and
coverage, the path explorer, the fuzzer, graphs and the pytest plugin.
"""
