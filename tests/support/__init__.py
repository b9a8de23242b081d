"""Libraries the tests call as plain functions; fixtures live in the conftest.py files.

What is here is not setup: it is code a test (or a module-level ``parametrize``
list, or a hypothesis strategy, or a fresh interpreter started by a test) calls
as an ordinary function, so it must be importable. ``tests/`` is on ``sys.path``
(pyproject's ``[tool.pytest.ini_options] pythonpath``), so tests import it as
``support.<module>``.

- ``paths``: where the repository, its policies and the test data are.
- ``compiled``: shipped policies compiled and rendered once per run (a cache).
- ``simulator``: the plain-Python packet simulator, the verifier's oracle.
- ``strategies``: hypothesis strategies of tiny models the simulator can enumerate.
- ``netedit``: small ``dataclasses.replace`` edits of a compiled model (planted faults).
- ``linux_tools``: run emitted Linux/VPN files through the real tools in namespaces.
"""
