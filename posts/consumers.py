"""The chat's WebSocket endpoint: the GraphQL transport, with each connection in its user's
group, so the user's failed requests (`postError`) and a deactivation reach it."""
from chatsite.graphql_ws import GraphQLWebSocketConsumer
from posts.events import user_group


class ChatConsumer(GraphQLWebSocketConsumer):
    def connection_groups(self, user):
        return [user_group(user.pk)]
