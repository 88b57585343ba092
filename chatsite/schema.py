"""The root schema, composed from the apps' pieces."""
import graphene

import accounts.schema
import posts.schema
import posts.search_schema
import rooms.schema


class Query(
    accounts.schema.Query, rooms.schema.Query, posts.search_schema.Query, posts.schema.Query, graphene.ObjectType
):
    pass


class Mutation(accounts.schema.Mutation, rooms.schema.Mutation, posts.schema.Mutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation, subscription=posts.schema.Subscription)
