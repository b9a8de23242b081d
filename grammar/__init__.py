"""zongheng.grammar"""
