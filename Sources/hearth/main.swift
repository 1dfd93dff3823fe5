import Node
print("hearth")
