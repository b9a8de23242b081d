"""`zongheng emulate`: the emitted Linux configs in network namespaces, real packets
compared with the verifier's verdicts."""
