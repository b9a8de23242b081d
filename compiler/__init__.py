"""zongheng.compiler"""
