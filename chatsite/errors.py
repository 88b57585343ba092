"""The failures a client can see, one type each with its code; `chatsite.graphql` answers
them as GraphQL errors carrying that code."""


class ChatError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Unauthenticated(ChatError): code = "UNAUTHENTICATED"
class Forbidden(ChatError): code = "FORBIDDEN"
class BadUserInput(ChatError): code = "BAD_USER_INPUT"
class NotFound(ChatError): code = "NOT_FOUND"
class RateLimited(ChatError): code = "RATE_LIMITED"


class Unavailable(ChatError):
    code = "UNAVAILABLE"
    busy_message = "The chat is busy right now; try again in a moment (the same clientId is safe to retry)."
