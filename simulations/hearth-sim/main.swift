import Simulator
print("hearth-sim: not built yet")
