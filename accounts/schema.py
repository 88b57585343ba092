import graphene

from accounts import services
from chatsite.graphql import caller, client_address, mutation, required_scalars


User = required_scalars("User", graphene.ObjectType, id=graphene.ID, username=graphene.String)


class AuthPayload(graphene.ObjectType):
    access_token = graphene.String(required=True)
    refresh_token = graphene.String(required=True)
    user = graphene.Field(User, required=True)


AuthInput = required_scalars("AuthInput", graphene.InputObjectType, username=graphene.String, password=graphene.String)
RefreshInput = required_scalars("RefreshInput", graphene.InputObjectType, refresh_token=graphene.String)


class Query(graphene.ObjectType):
    user = graphene.Field(User, required=True, description="The caller.")

    def resolve_user(root, info):
        return caller(info)


def sign_up(info, input):
    user = services.sign_up(username=input.username, password=input.password, client=client_address(info))
    return AuthPayload(**services.issue_tokens(user))


def log_in(info, input):
    user = services.log_in(username=input.username, password=input.password, client=client_address(info))
    return AuthPayload(**services.issue_tokens(user))


def refresh_token(info, input):
    return AuthPayload(**services.refresh_tokens(input.refresh_token))


class Mutation(graphene.ObjectType):
    sign_up = mutation(AuthPayload, AuthInput, sign_up)
    login = mutation(AuthPayload, AuthInput, log_in)
    refresh_token = mutation(AuthPayload, RefreshInput, refresh_token)
