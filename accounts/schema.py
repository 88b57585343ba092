import graphene

from accounts import services
from chatsite.graphql import caller, client_address


class User(graphene.ObjectType):
    id = graphene.ID(required=True)
    username = graphene.String(required=True)


class AuthPayload(graphene.ObjectType):
    access_token = graphene.String(required=True)
    refresh_token = graphene.String(required=True)
    user = graphene.Field(User, required=True)


class AuthInput(graphene.InputObjectType):
    username = graphene.String(required=True)
    password = graphene.String(required=True)


class RefreshInput(graphene.InputObjectType):
    refresh_token = graphene.String(required=True)


class Query(graphene.ObjectType):
    user = graphene.Field(User, required=True, description="The caller.")

    def resolve_user(root, info):
        return caller(info)


class SignUp(graphene.Mutation):
    class Arguments:
        input = AuthInput(required=True)

    Output = AuthPayload

    def mutate(root, info, input):
        user = services.sign_up(username=input.username, password=input.password, client=client_address(info))
        return AuthPayload(**services.issue_tokens(user))


class Login(graphene.Mutation):
    class Arguments:
        input = AuthInput(required=True)

    Output = AuthPayload

    def mutate(root, info, input):
        user = services.log_in(username=input.username, password=input.password, client=client_address(info))
        return AuthPayload(**services.issue_tokens(user))


class RefreshTokenMutation(graphene.Mutation):
    class Arguments:
        input = RefreshInput(required=True)

    Output = AuthPayload

    def mutate(root, info, input):
        return AuthPayload(**services.refresh_tokens(input.refresh_token))


class Mutation(graphene.ObjectType):
    sign_up = SignUp.Field()
    login = Login.Field()
    refresh_token = RefreshTokenMutation.Field()
