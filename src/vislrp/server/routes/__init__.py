"""The designer's HTTP API, one module per feature: its request and response schemas beside its router.

Each module's ``router(...)`` builds the feature's :class:`fastapi.APIRouter` from the objects it works on (the
network manager, the photo store); features with background jobs also give ``job_starters(networks)``, which
:mod:`vislrp.server.routes.jobs` turns into ``POST /api/jobs/{kind}`` routes. :mod:`vislrp.server.app` includes
them all. Nothing here is imported by this package itself, so a service can import a feature's schemas without
loading every router.
"""
