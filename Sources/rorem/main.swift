print("rorem")
