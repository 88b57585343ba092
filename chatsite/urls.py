from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from accounts.views import obtain_token, refresh_token
from chatsite.graphql import ChatGraphQLView
from chatsite.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    # CSRF is checked inside the view for session callers; bearer-token callers need none.
    path("graphql/", csrf_exempt(ChatGraphQLView.as_view(graphiql=True))),
    path("api/token/", obtain_token, name="token_obtain_pair"),
    path("api/token/refresh/", refresh_token, name="token_refresh"),
    path("healthz/", healthz, name="healthz"),
    path("", include("web.urls")),
]
