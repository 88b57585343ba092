import graphene

from chatsite.graphql import caller
from rooms import services
from rooms.models import Room as RoomModel


class Room(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    created_at = graphene.DateTime(required=True)


class CreateRoomInput(graphene.InputObjectType):
    id = graphene.ID(required=True, description='A slug, e.g. "general".')
    name = graphene.String(required=True)


class Query(graphene.ObjectType):
    rooms = graphene.List(graphene.NonNull(Room), required=True)

    def resolve_rooms(root, info):
        caller(info)
        return RoomModel.objects.order_by("name")


class CreateRoom(graphene.Mutation):
    class Arguments:
        input = CreateRoomInput(required=True)

    Output = Room

    def mutate(root, info, input):
        return services.create_room(room_id=input.id, name=input.name, user=caller(info))


class Mutation(graphene.ObjectType):
    create_room = CreateRoom.Field()
