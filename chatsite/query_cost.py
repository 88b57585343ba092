"""What one GraphQL document may ask for: a bound on its depth and its cost, checked when it
is validated (over HTTP and over the WebSocket alike), before any of it runs.

A schema this small needs no more than a few dozen fields in one document. Without a
bound, one request of aliases (1,500 `posts` of 50 posts each, or 120,000 `__typename`)
made the server work for seconds and hold hundreds of MB. The cost is the number of
fields, fragments expanded, plus LIST_COST for each field that returns a list (it may
return up to 50 items); counting stops as soon as the limit is passed, so a document
built to explode (fragments that spread each other many times) costs little to refuse.
"""
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    InlineFragmentNode,
    OperationType,
    ValidationRule,
    get_named_type,
    specified_rules,
)

MAX_DEPTH = 8
MAX_COST = 500
LIST_COST = 50
# A document of our schema needs a few hundred tokens; parsing stops long before a body's
# worth of aliases becomes a syntax tree (which some of GraphQL's own rules compare
# pairwise).
MAX_TOKENS = 2000
# Root fields a document may ask for once: each is bounded on its own (a search's time,
# see posts/search.py), and aliases must not multiply that bound.
ONCE_PER_DOCUMENT = ("searchPosts",)


INTROSPECTION_ROOTS = {"__schema": "__Schema", "__type": "__Type"}


class TooCostly(Exception):
    pass


class QueryCostRule(ValidationRule):
    def enter_operation_definition(self, node, *_):
        schema = self.context.schema
        root = schema.get_root_type(node.operation)
        walk = Walk(self.context)
        try:
            walk.selections(node.selection_set, root, 1, frozenset())
        except TooCostly as refusal:
            self.report_error(GraphQLError(str(refusal), node))
        return self.SKIP


class Walk:
    def __init__(self, context):
        self.context = context
        self.cost = 0
        self.once = set()

    def selections(self, selection_set, parent_type, depth, fragments, schema_only=False):
        # schema_only: below `__schema`/`__type`, answered from the schema in memory: each
        # field still counts, but lists cost no more and the depth is the schema's
        # (GraphiQL's introspection nests `ofType` eight deep).
        if depth > MAX_DEPTH and not schema_only:
            raise TooCostly(f"The query is nested deeper than {MAX_DEPTH} levels.")
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent_type, depth, fragments, schema_only)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.context.schema.get_type(condition.name.value) if condition else parent_type
                self.selections(selection.selection_set, inner, depth, fragments, schema_only)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in fragments:  # unknown or cyclic: other rules say so
                    continue
                inner = self.context.schema.get_type(fragment.type_condition.name.value)
                self.selections(fragment.selection_set, inner, depth, fragments | {name}, schema_only)

    def field(self, node, parent_type, depth, fragments, schema_only):
        name = node.name.value
        definition = getattr(parent_type, "fields", {}).get(name)
        schema_only = schema_only or name in INTROSPECTION_ROOTS
        self.cost += 1
        if name in ONCE_PER_DOCUMENT and parent_type is self.context.schema.query_type:
            if name in self.once:
                raise TooCostly(f"A query can ask for `{name}` once; send each one as a request of its own.")
            self.once.add(name)
        if definition is not None and not schema_only:
            field_type = definition.type
            if isinstance(field_type, GraphQLNonNull):
                field_type = field_type.of_type
            if isinstance(field_type, GraphQLList):
                self.cost += LIST_COST
        if self.cost > MAX_COST:
            raise TooCostly(
                f"The query asks for too much at once (cost over {MAX_COST}: each field counts 1, "
                f"each list {LIST_COST} more). Split it into several requests."
            )
        if node.selection_set is not None:
            if definition is not None:
                inner = get_named_type(definition.type)
            else:  # `__schema` and `__type` are not among the root type's own fields
                inner = self.context.schema.get_type(INTROSPECTION_ROOTS.get(name, ""))
            if inner is not None:
                self.selections(node.selection_set, inner, depth + 1, fragments, schema_only)


class NoSubscriptionOverHttp(ValidationRule):
    """A subscription is a stream: over HTTP it has nowhere to go (it answered an internal
    error before). The client's mistake, said as such."""

    def enter_operation_definition(self, node, *_):
        if node.operation == OperationType.SUBSCRIPTION:
            self.report_error(GraphQLError("Subscriptions run over the WebSocket at /graphql/, not HTTP.", node))
        return self.SKIP


# The rules every document is validated with: GraphQL's own, and the bound above.
VALIDATION_RULES = (*specified_rules, QueryCostRule)
HTTP_VALIDATION_RULES = (*VALIDATION_RULES, NoSubscriptionOverHttp)
