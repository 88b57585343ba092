"""GraphQL documents, parsed and validated once per distinct text, for HTTP and the WebSocket.

Validation stops at the first refusal: the cost rule (chatsite.query_cost) runs on its own
first, so a document refused for its cost never reaches GraphQL's own rules (one of them
compares same-named fields pairwise, quadratic in a document of aliases).

Only documents that passed are kept, and the cache is bounded by an estimate of the bytes
they hold (a syntax tree takes about DOCUMENT_BYTES_PER_CHARACTER bytes per character of
its text), not by their number. A refused document keeps nothing: its errors are copied
without the parser's state (the source, the tokens and the traceback a GraphQLError drags).
"""
import threading
from collections import OrderedDict

from graphql import GraphQLError, parse, validate

from chatsite.query_cost import MAX_TOKENS, QueryCostRule

# Measured with tracemalloc on our schema's documents: 70-145 bytes per character.
DOCUMENT_BYTES_PER_CHARACTER = 150


def plain_error(error):
    """The error as a client sees it, holding nothing of the parse that raised it."""
    return GraphQLError(error.message, extensions=error.extensions or None)


def plain_errors(errors):
    copies = []
    for error in errors:
        copy = plain_error(error)
        # Where in the text (line, column) is all a client needs of the nodes.
        copy.locations = error.locations
        copies.append(copy)
    return tuple(copies)


class Documents:
    """(document, None) or (None, errors) for a document's text, against one schema and its
    rules. Thread-safe: HTTP requests run on threads."""

    def __init__(self, schema, rules, max_bytes):
        self.schema = schema
        self.rules = tuple(rule for rule in rules if rule is not QueryCostRule)
        self.max_bytes = max_bytes
        self.kept = OrderedDict()  # text -> document
        self.kept_bytes = 0
        self.lock = threading.Lock()

    def get(self, text):
        with self.lock:
            document = self.kept.get(text)
            if document is not None:
                self.kept.move_to_end(text)
                return document, None
        try:
            document = parse(text, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return None, plain_errors([error])
        graphql_schema = self.schema.graphql_schema
        errors = validate(graphql_schema, document, (QueryCostRule,)) or validate(graphql_schema, document, self.rules)
        if errors:
            return None, plain_errors(errors)
        self._keep(text, document)
        return document, None

    def _keep(self, text, document):
        size = len(text) * DOCUMENT_BYTES_PER_CHARACTER
        if size > self.max_bytes:
            return
        with self.lock:
            if text in self.kept:
                return
            self.kept[text] = document
            self.kept_bytes += size
            while self.kept_bytes > self.max_bytes:
                dropped, _ = self.kept.popitem(last=False)
                self.kept_bytes -= len(dropped) * DOCUMENT_BYTES_PER_CHARACTER

    def stats(self):
        return {"documents": len(self.kept), "document_bytes": self.kept_bytes}
