print("car")
