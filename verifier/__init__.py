"""zongheng.verifier"""
