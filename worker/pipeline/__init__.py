"""The pipeline core: wires the stages, source -> parse + validate -> schedule + send -> record.

run.py         Pipeline: one run over one source (reading, stop and grace, holding, failures)
lane_pools.py  each lane's bounded queue and the workers that empty it
deferral.py    the lines of a lane that is behind, noted and read again later
protocols.py   what a run is given: a line source, a parser, a hold
"""
