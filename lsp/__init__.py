"""``zongheng lsp``: the policy language in an editor, as a Language Server Protocol server.

The server (``server.py``, on pygls) only turns requests into calls and answers;
what it answers with is worked out here from zongheng's own pipeline, never from a
second reading of the language: ``analysis`` compiles an open policy (the checker's
errors and warnings, then lint's findings), ``names`` indexes every declared name
and every place it is used (go to definition, find references), ``hover`` states
what a name is with the prefixes allocated to it, ``completion`` offers the
grammar's keywords and the declared names, ``outline`` lists the declarations, and
``positions`` converts between the parser's 1-based columns and the client's units.

Layer: above :mod:`zongheng.api` (it lints through it), below ``cli/`` (``zongheng lsp``).
"""
