"""What checks ask about: small helpers that receive a client and return plain facts.

They never open a connection of their own (the session fixtures own those), and they set
`__tracebackhide__` where they assert, so a failure points at the check, not at the helper.
"""
