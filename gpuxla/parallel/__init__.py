"""Beyond one device: the device list (devices.py), pmap (pmap.py) and the engines that carry its
collectives across devices (engine.py); gpuxla/distributed.py joins processes through MPI."""
