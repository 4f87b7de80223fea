"""The web application (issue 13): Starlette + Jinja2 + htmx over the same library as the CLI.

Layout, for the areas later sessions add (generation forms, batches, roster upload, review
queue, month dashboard, shelves, administration):
    roles.py      the table route name -> roles allowed; a route missing from it cannot start
    routing.py    `guarded(name, path)`: authentication, role check, acting user, error pages
    auth.py       sessions, API tokens, login throttle
    app.py        middleware (security headers, body limits, CSRF, sessions) and assembly
    views.py      templates (autoescaped), Chinese dates, responses that are never cached
    routes/       one module per area, each with a ROUTES list
    templates/    base.html and one template per page; static/ htmx and CSS, no CDN
"""

from archive.web.app import create_app

__all__ = ["create_app"]
