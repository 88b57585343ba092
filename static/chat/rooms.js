// The room list: unread counts (unread.js) and notifications (attention.js) kept live over the page's GraphQL connection:
// roomEvents for the rooms listed (resumed `after` the position the page was rendered at,
// so nothing slips between) and readStateChanged (reading a room in another tab clears its
// count here). The most rooms followed comes from the server (data-live-rooms-max): what
// one connection's operations allow besides readStateChanged.
import { isHidden, notificationButton, notify, titleCount } from "./attention.js";
import { dataNumber } from "./dom.js";
import { liveConnection } from "./graphql.js";
import { READ_STATE, ROOM_EVENTS, unreadCounts } from "./unread.js";

const list = document.querySelector("ul.rooms[data-user-id]");
if (list) {
  const counts = unreadCounts({
    items: list.querySelectorAll("li[data-room-id]"),
    userId: list.dataset.userId,
    username: list.dataset.username,
    countMax: dataNumber(list, "countMax"),
    setTitle: titleCount(document.title),
    // While the tab is hidden: a mention of you, or a direct message, from a room not muted.
    noticed(room, post, mentioned) {
      if (!isHidden() || room.muted || !(mentioned || room.direct)) return;
      notify({
        title: room.direct ? post.author + " (direct message)" : post.author + " in " + room.name,
        body: post.body,
        tag: "post-" + post.id,
        url: "/rooms/" + encodeURIComponent(room.id) + "/",
      });
    },
  });
  notificationButton(document.getElementById("notify-button"));
  const followed = counts.roomIds.slice(0, dataNumber(list, "liveRoomsMax"));
  liveConnection(list.dataset.graphqlUrl, {
    connected(session) {
      session.subscribe("reads", READ_STATE, null, { next: (data) => data.readStateChanged && counts.read(data.readStateChanged) });
      followed.forEach((roomId) => {
        const input = { roomId: roomId, after: counts.after(roomId) };
        session.subscribe("room:" + roomId, ROOM_EVENTS, { input: input }, { next: (data) => data.roomEvents && counts.event(roomId, data.roomEvents) });
      });
    },
    state(name) {
      document.body.dataset.live = name;
    },
  });
}
