"""The WebSocket protocol's constants (SPEC section 6), shared by the transport and by the
apps that send it layer messages. No imports: anything may import this."""

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

# A layer message of this type closes every connection of its `group` with its `code`.
CONNECTION_CLOSE = "connection.close"

CLOSE_BAD_REQUEST = 4400, "Bad request"
CLOSE_UNAUTHORIZED = 4401, "Unauthorized"
CLOSE_FORBIDDEN = 4403, "Forbidden"
CLOSE_INIT_TIMEOUT = 4408, "Connection initialisation timeout"
CLOSE_DUPLICATE = 4409, "Subscriber for this id already exists"
CLOSE_TOO_MANY_INITS = 4429, "Too many initialisation requests"
# The user holds WEBSOCKET_MAX_CONNECTIONS_PER_USER connections on this process already.
CLOSE_TOO_MANY_CONNECTIONS = 4429, "Too many connections"
# The client fell too far behind reading (WEBSOCKET_MAX_BACKLOG_BYTES unsent): reconnect and
# resume with `after`.
CLOSE_TOO_SLOW = 4413, "Too far behind: reconnect and resume"
