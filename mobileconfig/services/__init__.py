"""The services a profile configures: one module per service, listed in :mod:`.registry`.

Each service module holds that service's spec model, its compile step (spec ─▶ payload
models) and the findings only it can raise; :mod:`.base` holds what they share (the compile
context that resolves names to PayloadUUIDs and collects findings). The spec front end
(:mod:`mobileconfig.spec`) builds ``ProfileSpec`` from the registry and walks it to compile;
nothing here imports the front end. See docs/contributing.md, "Adding a service".
"""
