"""The root schema, composed from the apps' pieces."""
import graphene

import accounts.schema
import rooms.schema
from posts.graphql import mutations as post_mutations
from posts.graphql import queries as post_queries
from posts.graphql import search as post_search
from posts.graphql import subscriptions as post_subscriptions


class Query(accounts.schema.Query, rooms.schema.Query, post_search.Query, post_queries.Query, graphene.ObjectType):
    pass


class Mutation(accounts.schema.Mutation, rooms.schema.Mutation, post_mutations.Mutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation, subscription=post_subscriptions.Subscription)
