"""The chat's WebSocket endpoint: the GraphQL transport serving the chat's schema, with each
connection in its user's group, so the user's failed requests (`postError`) and a
deactivation reach it."""
from chatsite.graphql_ws import Endpoint, GraphQLWebSocketConsumer
from chatsite.schema import schema
from posts.events import user_group


class ChatConsumer(GraphQLWebSocketConsumer):
    endpoint = Endpoint(schema)

    def connection_groups(self, user):
        return [user_group(user.pk)]
