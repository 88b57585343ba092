"""GraphiQL's assets for templates/graphene/graphiql.html, served by us from static/graphiql/:
each path is built from graphene-django's view's version attributes and carries the view's
own integrity hash, so a version drift or a changed file is caught, not silently served."""
from django import template
from django.templatetags.static import static

register = template.Library()

# (path under static/graphiql/, with the view's version attributes; the view's hash attribute)
STYLESHEETS = (
    ("graphiql-{graphiql_version}/graphiql.min.css", "graphiql_css_sri"),
    ("graphiql-plugin-explorer-{graphiql_plugin_explorer_version}/style.css", "graphiql_plugin_explorer_css_sri"),
)
# In the order they run: graphiql needs react; the explorer plugin, graphiql.
SCRIPTS = (
    ("whatwg-fetch-{whatwg_fetch_version}/fetch.umd.js", "whatwg_fetch_sri"),
    ("react-{react_version}/react.production.min.js", "react_sri"),
    ("react-dom-{react_version}/react-dom.production.min.js", "react_dom_sri"),
    ("graphiql-{graphiql_version}/graphiql.min.js", "graphiql_sri"),
    ("graphql-ws-{subscriptions_transport_ws_version}/graphql-ws.min.js", "subscriptions_transport_ws_sri"),
    ("graphiql-plugin-explorer-{graphiql_plugin_explorer_version}/graphiql-plugin-explorer.umd.js", "graphiql_plugin_explorer_sri"),
)


def _assets(context, table):
    names = context.flatten()
    return [{"url": static("graphiql/" + path.format(**names)), "integrity": names[sri]} for path, sri in table]


@register.simple_tag(takes_context=True)
def graphiql_stylesheets(context):
    return _assets(context, STYLESHEETS)


@register.simple_tag(takes_context=True)
def graphiql_scripts(context):
    return _assets(context, SCRIPTS)
