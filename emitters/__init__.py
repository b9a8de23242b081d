"""zongheng.emitters"""
